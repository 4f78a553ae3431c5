from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog.holds import register_hold_source
        from messaging.selectors import accepted_offer_hold

        register_hold_source("accepted_offer", accepted_offer_hold)
