"""Ops commands: verification_queue and verification_rotate_keys."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.verification.factories import TradeLicenceVerificationFactory, VerificationFactory, valid_emirates_id
from verification import crypto
from verification.models import SubmissionStatus, Verification


def run(*args) -> str:
    out = StringIO()
    call_command("verification_queue", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_queue_prints_counts_oldest_wait_and_per_type():
    # given three pending submissions, the oldest 30 hours old, and a decided one
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(hours=30), tick=False):
        VerificationFactory()
    with time_machine.travel(now - datetime.timedelta(hours=2), tick=False):
        TradeLicenceVerificationFactory()
        TradeLicenceVerificationFactory()
        VerificationFactory(status=SubmissionStatus.REJECTED, rejection_reason="x")
    # when the command runs now
    with time_machine.travel(now, tick=False):
        text = run()
        data = json.loads(run("--json"))
    # then
    assert "pending: 3" in text
    assert "oldest wait: 30.0 h" in text
    assert "emirates_id: 1" in text and "trade_license: 2" in text and "both: 0" in text
    assert data == {
        "pending": 3,
        "oldest_wait_hours": 30.0,
        "oldest_submitted_at": data["oldest_submitted_at"],
        "per_type": {"emirates_id": 1, "trade_license": 2, "both": 0},
    }


@pytest.mark.django_db
def test_queue_fails_when_the_oldest_waits_too_long():
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(hours=30), tick=False):
        VerificationFactory()
    with time_machine.travel(now, tick=False):
        assert "pending: 1" in run("--max-wait-hours", "48")  # within the limit: exit 0
        with pytest.raises(CommandError) as caught:
            run("--max-wait-hours", "24")
    assert caught.value.returncode == 1
    assert "30.0 h" in str(caught.value)


@pytest.mark.django_db
def test_empty_queue_is_fine_with_any_limit():
    assert "pending: 0" in run("--max-wait-hours", "0")


def test_queue_refuses_a_negative_limit():
    with pytest.raises(CommandError):
        run("--max-wait-hours", "-1")


@pytest.mark.django_db
def test_rotate_keys_re_encrypts_under_the_new_key(settings):
    # given numbers stored under the current key
    number = valid_emirates_id(serial=4242424)
    verification = VerificationFactory(number=number)
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    # when a new key is prepended and the rotation runs
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    out = StringIO()
    call_command("verification_rotate_keys", stdout=out)
    assert "re-encrypted 1 Emirates ID numbers" in out.getvalue()
    # then the old key can be dropped and the number still reads back
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    verification.refresh_from_db()
    assert crypto.decrypt(verification.emirates_id_number) == number
    # and running it again is harmless
    call_command("verification_rotate_keys", stdout=StringIO())
    assert crypto.decrypt(Verification.objects.get().emirates_id_number) == number


@pytest.mark.django_db
def test_rotate_keys_stops_without_changes_when_a_key_is_missing(settings):
    verification = VerificationFactory()
    before = verification.emirates_id_number
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError):
        call_command("verification_rotate_keys", stdout=StringIO())
    verification.refresh_from_db()
    assert verification.emirates_id_number == before
