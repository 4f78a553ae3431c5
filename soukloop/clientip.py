"""The caller's address, the one every per-source limit is keyed on.

``X-Forwarded-For`` is written by whoever sends the request, so it is trusted only as far as
our own proxies wrote it: with ``TRUSTED_PROXY_COUNT = n`` the n-th address from the right is
the client (each trusted proxy appends the address it received the connection from). With 0
(the default) there is no proxy and the socket's address (``REMOTE_ADDR``) is the client.
DRF's throttles use the same rule (``NUM_PROXIES`` is set from the same setting).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(count, len(forwarded))]
