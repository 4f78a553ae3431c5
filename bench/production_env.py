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
