"""Decisions reach the person through the file backends used in development."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import UserFactory
from tests.verification.factories import VerificationFactory, valid_emirates_id
from verification import services


@pytest.fixture
def file_backends(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "email")
    settings.SMS_BACKEND = "accounts.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path


def written(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*"))] if folder.exists() else []


@pytest.mark.django_db
def test_rejection_is_written_to_email_and_sms_files_after_commit(file_backends, django_capture_on_commit_callbacks):
    number = valid_emirates_id(serial=6060606)
    verification = VerificationFactory(number=number, user__phone="+971501234567", user__email="noura@example.ae")
    moderator = UserFactory(is_staff=True, password=None)
    # when the moderator rejects; nothing is sent before the commit
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.verification_reject(verification=verification, by=moderator, code="expired")
    assert written(file_backends / "email") == [] and written(file_backends / "sms") == []
    for callback in callbacks:
        callback()
    # then one email in English and Arabic, and one short SMS per language, with the reason,
    # without the number
    [email] = written(file_backends / "email")
    sms = written(file_backends / "sms")
    assert len(sms) == 2
    english, arabic = sorted(sms, key=lambda text: "The document has expired." not in text)
    assert "To: noura@example.ae" in email
    assert all("To: +971501234567" in text for text in sms)
    assert "The document has expired." in english and "انتهت صلاحية المستند." in arabic
    for text in (email, *sms):
        assert number not in text and number.replace("-", "") not in text


@pytest.mark.django_db
def test_a_person_without_phone_still_gets_the_email(file_backends, django_capture_on_commit_callbacks):
    verification = VerificationFactory(user__phone=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.verification_approve(verification=verification, by=UserFactory(is_staff=True, password=None))
    assert len(written(file_backends / "email")) == 1
    assert written(file_backends / "sms") == []
