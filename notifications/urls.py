from django.urls import re_path

from notifications.views import DeviceViewSet, NotificationViewSet, TwilioStatusView
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("devices", DeviceViewSet, basename="device")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    re_path(r"^notifications/sms/status/?$", TwilioStatusView.as_view(), name="twilio-status"),
    *router.urls,
]
