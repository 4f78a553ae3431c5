"""The environment a benchmark's server runs with: ``DEBUG=false`` and a value for every
setting the production start-up check (``soukloop/production.py``) refuses to leave at its
development default, each made up per run and good for nothing but the benchmark."""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet


def production_like_env(**overrides: str) -> dict[str, str]:
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "STRIPE_SECRET_KEY": "sk_test_bench_" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": "whsec_bench_" + secrets.token_hex(12),
        "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_bench_connect_" + secrets.token_hex(12),
        "STRIPE_API_BASE": "",
        "MEDIA_HOOK_SECRET": secrets.token_urlsafe(32),
        # Twilio with made-up credentials: the benchmarks send no SMS.
        "SMS_BACKEND": "accounts.sms.TwilioSMSBackend",
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return env


def ensure_database(url: str) -> None:
    """Create the benchmark's PostGIS database (with postgis and pg_trgm) when it is missing."""
    import psycopg

    base, name = url.replace("postgis://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def setup_django(env: dict[str, str], root: str) -> None:
    """This process as the benchmark's server would be: its environment, Django, migrated."""
    import os
    import sys

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soukloop.settings")
    sys.path.insert(0, root)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
