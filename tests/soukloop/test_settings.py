"""Production safety: with DEBUG off and real secrets, `check --deploy` has nothing to say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


SECRETS = (
    "SECRET_KEY",
    "JWT_SIGNING_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "MEDIA_HOOK_SECRET",
    "REDIS_URL",
    "SMS_BACKEND",
    "TWILIO_API_BASE",
    "FCM_API_BASE",
    "METRICS_TOKEN",
    "METRICS_ALLOWED_IPS",
)
# Unset, these fall back to a safe value (JWTs signed with SECRET_KEY, Twilio's and Google's APIs,
# /metrics for loopback only).
SAFE_WHEN_UNSET = {"JWT_SIGNING_KEY", "TWILIO_API_BASE", "FCM_API_BASE", "METRICS_TOKEN", "METRICS_ALLOWED_IPS"}


def production_env() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-value-0123456789",
        "JWT_SIGNING_KEY": "j" * 20 + "-another-long-random-production-signing-key-0123456789",
        "ALLOWED_HOSTS": "api.soukloop.ae",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "STRIPE_SECRET_KEY": "sk_live_" + "a" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "b" * 32,
        "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_" + "c" * 32,
        "STRIPE_API_BASE": "",
        "MEDIA_HOOK_SECRET": "d" * 40,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "SMS_BACKEND": "accounts.sms.TwilioSMSBackend",
        "TWILIO_API_BASE": "",
        "FCM_API_BASE": "https://fcm.googleapis.com",
        "METRICS_TOKEN": "m" * 40,
        "METRICS_ALLOWED_IPS": "10.0.0.0/8",
    }


def _run(extra_env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", *SECRETS}}
    env.update(extra_env)
    return subprocess.run(  # noqa: S603 - our own interpreter with a fixed argument list
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run_check(extra_env: dict[str, str], *, deploy: bool = True) -> subprocess.CompletedProcess:
    command = ["check", "--deploy", "--fail-level", "WARNING"] if deploy else ["check"]
    return _run(extra_env, ["manage.py", *command])


def _start(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    """What every entry point (manage.py, wsgi, asgi, celery) does first: load the settings, where
    the refusal lives (soukloop/production.py). A tenth of a whole ``check``'s time (it loads
    every app and runs every check), which matters for 28 cases."""
    return _run(
        {"DJANGO_SETTINGS_MODULE": "soukloop.settings", **extra_env},
        ["-c", "from django.conf import settings; settings.INSTALLED_APPS"],
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _run_check(production_env())

    assert result.returncode == 0, result.stdout + result.stderr


DEVELOPMENT_VALUES = {
    "SECRET_KEY": "django-insecure-souk-loop-development-key-never-use-in-production",
    "JWT_SIGNING_KEY": "django-insecure-souk-loop-development-key-never-use-in-production",
    "FIELD_ENCRYPTION_KEYS": "c291a2xvb3AtZGV2LW9ubHktZmllbGQta2V5LTMyYnk=",
    "STRIPE_SECRET_KEY": "sk_test_soukloop_local",
    "STRIPE_WEBHOOK_SECRET": "whsec_soukloop_local",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_soukloop_connect_local",
    "STRIPE_API_BASE": "http://127.0.0.1:12111",
    "MEDIA_HOOK_SECRET": "",
    "REDIS_URL": "",
    "SMS_BACKEND": "accounts.sms.FileSMSBackend",
    "TWILIO_API_BASE": "http://127.0.0.1:9999",
    "FCM_API_BASE": "http://127.0.0.1:9998",
    "METRICS_TOKEN": "metrics",
    "METRICS_ALLOWED_IPS": "0.0.0.0/0",
}


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("how", ["development value", "unset"])
def test_production_refuses_to_start_with_a_development_default(name, how):
    env = production_env()
    if how == "unset":
        del env[name]
    else:
        env[name] = DEVELOPMENT_VALUES[name]

    result = _start(env)

    if how == "unset" and name in SAFE_WHEN_UNSET:
        assert result.returncode == 0, result.stderr
        return
    # (an unset STRIPE_API_BASE is the local stand-in's address: refused like the explicit value)
    assert result.returncode != 0, result.stdout
    message = result.stderr.split("Refusing to start", 1)[1]
    named = {other for other in SECRETS if re.search(rf"(?<![A-Z_]){other} ", message)}
    assert named == {name}


@pytest.mark.parametrize(("switch", "threshold"), [(None, "2147483647"), ("true", "2147483647"), ("false", "None")])
def test_prepared_statements_are_on_for_postgresql_unless_turned_off(switch, threshold):
    # psycopg prepares nothing with Django's threshold (None); ours is never reached by counting,
    # so only the statements soukloop.compiled asks to prepare are; DB_PREPARED_STATEMENTS=false
    # (a pooler that cannot carry them) leaves Django's None
    env = {"DATABASE_URL": "postgis://soukloop@db.invalid:5432/soukloop"}
    if switch is not None:
        env["DB_PREPARED_STATEMENTS"] = switch
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))"
    result = _run({**env, "DJANGO_SETTINGS_MODULE": "soukloop.settings"}, ["-c", show])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == threshold
