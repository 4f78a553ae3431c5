"""Error reports to Sentry (``SENTRY_DSN``), with personal data scrubbed before anything leaves.

Sentry's SDK sends, besides the stack trace, each frame's local variables, the request (headers,
query, body) and breadcrumbs (earlier log lines and SQL). The SDK runs with its defaults for
personal data (``send_default_pii`` and ``data_collection`` left unset: no user, no cookies, its
own denylist scrubber on; ``data_collection``, which deprecates ``send_default_pii`` in SDK 2.x,
would turn most categories on and the SDK's scrubber off), and ``scrub`` walks the whole event
before it is sent:

- any value under a key that names a secret or personal data (authorization, cookie, password,
  token, secret, key, otp, code, phone, id_number, emirates_id, iban, email, ...) becomes
  ``[Filtered]``;
- in every other string, Emirates ID numbers, phone numbers, JWTs and bearer tokens, Stripe
  keys, random keys (stream keys: 24+ characters mixing upper and lower case and digits) and
  e-mail addresses are replaced by a placeholder.
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"
_SENSITIVE_KEY = re.compile(
    r"authorization|cookie|passw|token|secret|api_?key|stream_?key|signature|otp|^code$|phone|mobile|"
    r"id_?number|emirates|iban|e-?mail|csrf|session|ticket|dsn",
    re.IGNORECASE,
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"), "[jwt]"),
    (re.compile(r"(?i)bearer\s+[\w.\-~+/]+=*"), "Bearer [token]"),
    (re.compile(r"\b784[- ]?\d{4}[- ]?\d{7}[- ]?\d\b"), "[emirates-id]"),
    # international (+971 50 123 4567, 00971...) and UAE national (050 123 4567) forms
    (re.compile(r"(?<![\w+])(?:\+|00)\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,4}){2,4}(?!\w)"), "[phone]"),
    (re.compile(r"(?<!\w)0[5-9]\d[\s-]?\d{3}[\s-]?\d{4}(?!\w)"), "[phone]"),
    (re.compile(r"\b(?:sk|rk|pk|whsec)_(?:live_|test_)?[A-Za-z0-9]{8,}"), "[key]"),
    # random keys (stream keys are 32 URL-safe characters): long, with upper, lower and digits
    (re.compile(r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])(?=[\w-]*\d)[\w-]{24,}(?![\w-])"), "[key]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
)


def scrub_text(text: str) -> str:
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


# The event's own structure: identifiers and times, never personal data.
_STRUCTURAL = frozenset({"event_id", "timestamp", "start_timestamp", "trace_id", "span_id", "parent_span_id"})


def _scrub_item(key: Any, item: Any, depth: int) -> Any:
    if not isinstance(key, str):
        return _scrub(item, depth + 1)
    if key in _STRUCTURAL:
        return item
    if _SENSITIVE_KEY.search(key):
        return FILTERED
    return _scrub(item, depth + 1)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return FILTERED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub_item(key, item, depth) for key, item in value.items()}
    if isinstance(value, list | tuple):
        # headers come as [name, value] pairs
        if len(value) == 2 and isinstance(value[0], str) and _SENSITIVE_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [_scrub(item, depth + 1) for item in value]
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send`` (and ``before_send_transaction``): the event without personal data."""
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed


def init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=scrub,  # type: ignore[arg-type]
        before_send_transaction=scrub,  # type: ignore[arg-type]
        max_request_body_size="small",
    )
