from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog.holds import register_hold_source
        from payments.selectors import checkout_hold

        register_hold_source("checkout", checkout_hold)

        from payments.selectors import payouts_overdue_count
        from soukloop.metrics import register_gauge

        register_gauge(
            "soukloop_payouts_overdue", "Payouts past their hold and not sent (release_payouts).", payouts_overdue_count
        )
