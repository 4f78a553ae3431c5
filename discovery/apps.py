from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiscoveryConfig(AppConfig):
    name = "discovery"
    verbose_name = _("Discovery: saved searches and the personalised feed")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Catalog's Discover view asks the personaliser without importing this app (layers).
        from catalog.personalisation import register_discover_personaliser
        from discovery.feed import personal_discover_page

        register_discover_personaliser(personal_discover_page)
