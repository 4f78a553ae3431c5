from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustConfig(AppConfig):
    name = "trust"
    verbose_name = _("Trust: claims and reviews")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Reviews are reportable: messaging (below us) asks this resolver who wrote one.
        from messaging.services import register_report_target
        from trust.selectors import review_report_target

        register_report_target("review", review_report_target)

        # A sale refunded in full outside its claim closes the claim (payments publishes it).
        from soukloop.events import register_sink
        from trust.sink import deliver

        register_sink("trust", deliver)
