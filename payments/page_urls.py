"""Pages outside the API: where Stripe sends a seller back after onboarding."""

from django.urls import re_path

from payments import views

urlpatterns = [
    re_path(r"^connect/(?P<step>return|refresh)/?$", views.connect_landing, name="payments-connect-landing"),
]
