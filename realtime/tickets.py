"""Socket tickets: what a client trades its JWT for before opening ``/ws/v1/?ticket=…``.

The access token never travels in a URL (proxies and servers log URLs). A ticket is a random
single-use string valid ``REALTIME_TICKET_TTL_SECONDS`` (60 s), kept in the cache (Redis when
``REDIS_URL`` is set) under its SHA-256, never in clear. Redeeming deletes it: of two
connections with one ticket only the one whose delete succeeded gets in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from accounts.models import User

_MAX_TICKET_CHARS = 100


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_in: int
    anonymous: bool


@dataclass(frozen=True)
class Claim:
    """Who a redeemed ticket speaks for: a user id, or an anonymous viewer's random key."""

    user_id: str | None
    viewer_key: str


def _key(ticket: str) -> str:
    return "realtime:ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def ticket_issue(*, user: User | None) -> Ticket:
    """A ticket for ``user`` (signed in) or a viewer-only one (``user`` None)."""
    ticket = secrets.token_urlsafe(32)
    ttl = settings.REALTIME_TICKET_TTL_SECONDS
    value = {"user_id": str(user.pk) if user else None, "viewer_key": "anon-" + secrets.token_hex(8)}
    cache.set(_key(ticket), value, timeout=ttl)
    return Ticket(ticket=ticket, expires_in=ttl, anonymous=user is None)


def ticket_redeem(ticket: str) -> Claim | None:
    """The claim of a valid, unused, unexpired ticket, else None. Raises CACHE_UNAVAILABLE
    errors when Redis is down (the gateway then closes with 1011, not 4401)."""
    if not ticket or len(ticket) > _MAX_TICKET_CHARS:
        return None
    key = _key(ticket)
    value = cache.get(key)
    if not isinstance(value, dict) or not cache.delete(key):
        return None
    return Claim(user_id=value.get("user_id"), viewer_key=str(value.get("viewer_key") or ""))
