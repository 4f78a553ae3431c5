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
from stripe._base_address import BaseAddresses  # the TypedDict StripeClient takes


@lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, max_network_retries: int, api_version: str) -> stripe.StripeClient:
    base_addresses: BaseAddresses | None = (
        {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
    )
    return stripe.StripeClient(
        api_key,
        stripe_version=api_version,
        base_addresses=base_addresses,
        max_network_retries=max_network_retries,
    )


def stripe_client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        (settings.STRIPE_API_BASE or "").rstrip("/"),
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_API_VERSION,
    )


def idempotency_key(purpose: str, object_id: object, attempt: int | str | None = None) -> str:
    """``checkout-<transaction id>``: the same operation on the same object, the same key.

    With ``attempt``: one key per deliberate attempt (Stripe replays a key's first answer,
    a 500 included, for 24 hours). Callers that use attempts look the object up at Stripe
    first, so a new key can never pay twice."""
    base = f"soukloop-{purpose}-{object_id}"
    return f"{base}-a{attempt}" if attempt else base


def is_outage(exc: stripe.StripeError) -> bool:
    """Only these mean "try again later": no answer, a timeout, 429, or Stripe's own 5xx.
    A card or invalid-request error is final for this request and goes back to the caller."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = getattr(exc, "http_status", None)
    return status is None or status >= 500
