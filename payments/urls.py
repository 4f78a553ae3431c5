from django.urls import re_path

from payments import views
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("transactions", views.TransactionViewSet, basename="transaction")

urlpatterns = [
    re_path(r"^payments/fees/?$", views.FeesView.as_view(), name="payments-fees"),
    re_path(r"^payments/connect/onboard/?$", views.ConnectOnboardView.as_view(), name="payments-connect-onboard"),
    re_path(r"^payments/connect/status/?$", views.ConnectStatusView.as_view(), name="payments-connect-status"),
    re_path(r"^payments/checkout/?$", views.CheckoutView.as_view(), name="payments-checkout"),
    re_path(r"^payments/webhook/?$", views.StripeWebhookView.as_view(), name="payments-webhook"),
    re_path(r"^payments/webhook/connect/?$", views.StripeConnectWebhookView.as_view(), name="payments-webhook-connect"),
    *router.urls,
]
