"""Development defaults that open a door, and the check that keeps them out of production.

Every secret in settings has a development default so that ``make run`` is one command. With
``DEBUG=false`` the settings module calls :func:`refuse_unsafe` last: the process does not
start while any entry of :data:`RULES` still holds its development value (or is empty), and
the message names the setting. ``manage.py check --deploy`` reports the same findings as
errors (``soukloop.E001``), so a staging box running with ``DEBUG=true`` sees them too.

A new secret gets one line in :data:`RULES`; nothing else needs to change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

STRIPE_API = "https://api.stripe.com"
FCM_API = "https://fcm.googleapis.com"
_DEV_SMS_BACKENDS = {"FileSMSBackend", "ConsoleSMSBackend", "LocmemSMSBackend"}


@dataclass(frozen=True)
class Rule:
    setting: str
    why: str
    unsafe: Callable[[Any, Mapping[str, Any]], bool]
    problem: str = "still has its development default or is empty"


def _is_dev_or_empty(dev_value: str) -> Callable[[Any, Mapping[str, Any]], bool]:
    return lambda value, _ns: not value or value == dev_value


def _dev_secret_key(value: Any, ns: Mapping[str, Any]) -> bool:
    return not value or value == ns.get("_DEV_SECRET_KEY") or str(value).startswith("django-insecure")


def _jwt_key(value: Any, ns: Mapping[str, Any]) -> bool:
    key = (ns.get("SIMPLE_JWT") or {}).get("SIGNING_KEY")
    return _dev_secret_key(key, ns)


def _field_keys(value: Any, ns: Mapping[str, Any]) -> bool:
    keys = [k for k in (value or []) if k]
    return not keys or ns.get("_DEV_FIELD_KEY") in keys


def _stripe_base(value: Any, _ns: Mapping[str, Any]) -> bool:
    # Empty means the client's own default (Stripe); anything else sends card data elsewhere.
    return bool(value) and str(value).rstrip("/") != STRIPE_API


def _metrics_open_to_all(value: Any, _ns: Mapping[str, Any]) -> bool:
    try:
        return any(ipaddress.ip_network(str(net), strict=False).prefixlen == 0 for net in value or ())
    except ValueError:
        return True


RULES: tuple[Rule, ...] = (
    Rule("SECRET_KEY", "signs sessions, password-reset tokens and (by default) JWTs", _dev_secret_key),
    Rule("JWT_SIGNING_KEY", "signs API access and refresh tokens", _jwt_key),
    Rule("FIELD_ENCRYPTION_KEYS", "encrypts Emirates ID numbers at rest", _field_keys),
    Rule("STRIPE_SECRET_KEY", "the platform's Stripe account", _is_dev_or_empty("sk_test_soukloop_local")),
    Rule(
        "STRIPE_WEBHOOK_SECRET",
        "anyone holding it can forge payment events",
        _is_dev_or_empty("whsec_soukloop_local"),
    ),
    Rule(
        "STRIPE_CONNECT_WEBHOOK_SECRET",
        "anyone holding it can forge Connect account events",
        _is_dev_or_empty("whsec_soukloop_connect_local"),
    ),
    Rule(
        "STRIPE_API_BASE",
        f"set it empty or to {STRIPE_API}, or card payments go to whatever server it names",
        _stripe_base,
        problem="is not Stripe's API",
    ),
    Rule(
        "REDIS_URL",
        "without it every worker keeps its own sign-in back-off, OTP and rate-limit counters, "
        "so each limit is multiplied by the number of workers and codes sent by one are unknown to the others",
        lambda value, _ns: not value,
        problem="is not set",
    ),
    Rule(
        "MEDIA_HOOK_SECRET",
        "without it anyone on the media server's host can start or end streams",
        _is_dev_or_empty(""),
    ),
    Rule(
        "SMS_BACKEND",
        "one-time sign-in codes would be written to files or the console, readable there, and never reach "
        "a phone; use accounts.sms.TwilioSMSBackend",
        lambda value, _ns: str(value).rsplit(".", 1)[-1] in _DEV_SMS_BACKENDS,
        problem="is a development backend",
    ),
    Rule(
        "TWILIO_API_BASE",
        "SMS, one-time codes included, would go to whatever server it names; only the tests' stand-in uses it",
        lambda value, _ns: bool(value),
        problem="is set",
    ),
    Rule(
        "FCM_API_BASE",
        f"pushes would go to whatever server it names, with the service account's token; set it to {FCM_API}",
        lambda value, _ns: bool(value) and str(value).rstrip("/") != FCM_API,
        problem="is not Firebase's API",
    ),
    Rule(
        "METRICS_TOKEN",
        "/metrics shows traffic, queue depths and business totals to whoever guesses it; use 32 characters or more",
        lambda value, _ns: bool(value) and len(str(value)) < 32,
        problem="is too short",
    ),
    Rule(
        "METRICS_ALLOWED_IPS",
        "/metrics would answer every address; name the Prometheus servers (or use METRICS_TOKEN)",
        _metrics_open_to_all,
        problem="allows everyone or is not a list of addresses",
    ),
)


def findings(ns: Mapping[str, Any]) -> list[str]:
    """One message per rule that ``ns`` (a settings namespace) breaks."""
    out = []
    for rule in RULES:
        if rule.unsafe(ns.get(rule.setting), ns):
            out.append(f"{rule.setting} {rule.problem} ({rule.why}).")
    return out


def refuse_unsafe(ns: Mapping[str, Any]) -> None:
    """Called at the end of settings: with DEBUG off, refuse to start on any finding."""
    if ns.get("DEBUG"):
        return
    problems = findings(ns)
    if problems:
        raise ImproperlyConfigured("Refusing to start with DEBUG=false and development defaults: " + " ".join(problems))


def check_development_defaults(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``manage.py check --deploy``: each development default is an error (soukloop.E001)."""
    from django.conf import settings
    from django.core.checks import Error

    ns = {name: getattr(settings, name) for name in dir(settings) if name.isupper() or name.startswith("_DEV_")}
    ns["_DEV_SECRET_KEY"] = getattr(settings, "_DEV_SECRET_KEY", None)
    ns["_DEV_FIELD_KEY"] = getattr(settings, "_DEV_FIELD_KEY", None)
    return [Error(message, id="soukloop.E001") for message in findings(ns)]
