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
