"""The admin site: staff sign in with a password and, when they hold a TOTP device, its
six-digit code; anyone who may open identity documents must have one (``django-otp``).

- ``otp_required(user)``: holding the document permission, or having enrolled a device.
- A staff member who needs two-factor but has no device signs in with the password and is
  sent to the enrolment page (``admin/otp/enrol/``): the otpauth URI and its QR code, and a
  code to confirm; until then no admin page opens.
- A wrong code counts as a failed sign-in for the back-off (per account and source), so the
  code cannot be guessed faster than a password.
- The index shows the moderators' queues first, each with its pending count.
"""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.otp import DOCUMENT_PERMISSION, has_confirmed_device, otp_required
from soukloop import admin_queues
from soukloop.clientip import client_ip


class OTPAdminAuthenticationForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("The six digits your authenticator app shows (not needed before you have enrolled one)."),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "token_required": _("Type the code from your authenticator app."),
        "invalid_token": _("That code is wrong or has expired. Try the current one."),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean()  # password, back-off, is_staff
        user = self.get_user()
        if user is None or not has_confirmed_device(user):
            return data  # no device yet: enrolment is forced after sign-in when it is required
        token = (data.get("otp_token") or "").strip()
        if not token:
            raise forms.ValidationError(self.error_messages["token_required"], code="token_required")
        device = match_token(user, token)
        if device is None:
            source = client_ip(self.request)
            services.login_backoff_record_failure(
                key=services.login_backoff_key(identifier=data.get("username") or "", source=source), source=source
            )
            raise forms.ValidationError(self.error_messages["invalid_token"], code="invalid_token")
        services.login_backoff_clear(
            key=services.login_backoff_key(identifier=data.get("username") or "", source=client_ip(self.request))
        )
        user.otp_device = device  # django_otp persists it in the session on user_logged_in
        return data


class EnrolForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class SoukAdminSite(admin.AdminSite):
    site_header = _("Souk Loop moderation")
    site_title = _("Souk Loop admin")
    index_title = _("Moderation and operations")
    login_form = OTPAdminAuthenticationForm
    login_template = "admin/souk/login.html"
    index_template = "admin/souk/index.html"
    enable_nav_sidebar = False  # the queue pages need the width on a phone

    @property
    def site_url(self) -> str:  # type: ignore[override]
        """ "View site" opens the public site (ADMIN_SITE_URL), else the API documentation."""
        return getattr(settings, "ADMIN_SITE_URL", "") or "/api/docs/"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        if otp_required(request.user):
            return bool(getattr(request.user, "is_verified", lambda: False)())
        return True

    def needs_enrolment(self, request: HttpRequest) -> bool:
        user = request.user
        return (
            admin.AdminSite.has_permission(self, request)
            and user.has_perm(DOCUMENT_PERMISSION)
            and not has_confirmed_device(user)
        )

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET" and self.needs_enrolment(request):
            return HttpResponseRedirect(reverse("admin:otp_enrol", current_app=self.name))
        response = super().login(request, extra_context)
        if request.method == "POST" and response.status_code == 302 and self.needs_enrolment(request):
            return HttpResponseRedirect(reverse("admin:otp_enrol", current_app=self.name))
        return response

    def get_urls(self):
        return [path("otp/enrol/", never_cache(self.otp_enrol), name="otp_enrol"), *super().get_urls()]

    def otp_enrol(self, request: HttpRequest) -> HttpResponse:
        """A signed-in staff member without a device adds one: scan, type a code, done."""
        if not admin.AdminSite.has_permission(self, request):
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        if has_confirmed_device(request.user):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=request.user, name="admin", confirmed=False)
        form = EnrolForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["otp_token"].strip()):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                otp_login(request, device)
                return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
            form.add_error("otp_token", _("That code is wrong or has expired. Try the current one."))
        # The URI names the issuer and account so the app lists it recognisably.
        uri = device.config_url
        qr_svg = segno.make(uri, error="m").svg_inline(scale=5, border=2)
        context = {
            **self.each_context(request),
            "title": _("Set up two-factor sign-in"),
            "form": form,
            "otpauth_uri": uri,
            "qr_svg": mark_safe(qr_svg),  # noqa: S308 - generated by segno from our own URI
            "has_permission": False,
        }
        return TemplateResponse(request, "admin/souk/otp_enrol.html", context)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        queues = [
            {
                "label": q.label,
                "url": reverse(q.url_name, current_app=self.name) + (f"?{q.query}" if q.query else ""),
                "pending": q.pending(),
            }
            for q in admin_queues.queues()
            if request.user.has_perm(q.permission)
        ]
        return super().index(request, {"queues": queues, **(extra_context or {})})
