from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications.sink import deliver_event, deliver_events
        from soukloop.events import register_sink

        register_sink("notifications", deliver_event, many=deliver_events)

        from notifications.selectors import deliveries_dead_count
        from soukloop.metrics import register_gauge

        register_gauge(
            "soukloop_notification_deliveries_dead",
            "Push, SMS and e-mail deliveries that failed every attempt.",
            deliveries_dead_count,
        )
