"""The Django admin's sign-in gets the API's back-off: failures counted per account and source
address, doubling waits after ``LOGIN_MAX_FAILURES`` (staff accounts see identity documents;
the admin login used to let a script try passwords without limit)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import services
from accounts.otp import has_confirmed_device
from soukloop.clientip import client_ip


class BackoffModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        source = client_ip(request)
        key = services.login_backoff_key(identifier=username, source=source)
        if services.login_backoff_wait(key=key, source=source):
            raise PermissionDenied  # stops here; the admin answers with its usual message
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            services.login_backoff_record_failure(key=key, source=source)
        elif not has_confirmed_device(user):
            # With a TOTP device the failures are cleared only once the code is right too
            # (accounts.admin_site), so guessing codes behind a known password backs off.
            services.login_backoff_clear(key=key)
        return user
