from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("Verification")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from soukloop.metrics import register_gauge
        from verification.selectors import queue_oldest_pending_seconds

        register_gauge(
            "soukloop_verification_oldest_pending_seconds",
            "Age of the oldest submission waiting for a moderator.",
            queue_oldest_pending_seconds,
        )
