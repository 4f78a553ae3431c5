from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = _("Realtime")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime.fanout import deliver, deliver_many
        from soukloop import events

        events.register_sink("realtime", deliver, many=deliver_many)
