"""The one place the stripe client is built, from settings.

``STRIPE_API_BASE`` (when set) points every Stripe base address — API, Connect and file
uploads — at one server: a local stand-in in tests and demos. Requests carry explicit
idempotency keys derived from our own ids, so a retry (ours or the client's automatic
network retry) can never charge, transfer or refund twice.
"""

from __future__ import annotations

from functools import lru_cache

import stripe
from django.conf import settings


@lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, max_network_retries: int) -> stripe.StripeClient:
    base_addresses = {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=max_network_retries,
    )


def stripe_client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        (settings.STRIPE_API_BASE or "").rstrip("/"),
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def idempotency_key(purpose: str, object_id: object) -> str:
    """``checkout-<transaction id>``: the same operation on the same object, the same key."""
    return f"soukloop-{purpose}-{object_id}"
