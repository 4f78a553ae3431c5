"""Production safety: with DEBUG off and real secrets, `check --deploy` has nothing to say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_check(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    from cryptography.fernet import Fernet

    result = _run_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-value-0123456789",
            "ALLOWED_HOSTS": "api.soukloop.ae",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_with_development_secrets(missing):
    from cryptography.fernet import Fernet

    env = {
        "DEBUG": "false",
        "SECRET_KEY": "y" * 60,
        "ALLOWED_HOSTS": "api.soukloop.ae",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    del env[missing]

    result = _run_check(env)

    assert result.returncode != 0
    assert missing in result.stderr
