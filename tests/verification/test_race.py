"""Races on PostgreSQL with real threads: two moderators deciding one submission, one
person submitting twice, one Emirates ID sent from two accounts. One outcome stands."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from soukloop.errors import Conflict
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.verification.conftest import PDF_BYTES, image_bytes
from tests.verification.factories import VerificationFactory, valid_emirates_id
from verification import services
from verification.models import SubmissionStatus, Verification, VerificationAuditLog
from verification.services import Document


def run_at_once(calls: list[Callable[[], object]]) -> list[str]:
    """Each outcome is "done", the Conflict code, or the repr of anything else (so a crash
    shows in the assertion)."""

    def outcome(result: object) -> str:
        if isinstance(result, Conflict):
            return result.code
        if isinstance(result, Exception):
            return repr(result)
        return "done"

    return [outcome(result) for result in run_together(calls)]


def id_photos() -> dict[str, Document]:
    return {
        side: Document(file=SimpleUploadedFile(f"{side}.jpg", image_bytes(), "image/jpeg"), content_type="image/jpeg")
        for side in ("emirates_id_front", "emirates_id_back")
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_approve_and_reject_leave_exactly_one_decision(attempt):
    # given one pending submission and two moderators
    verification = VerificationFactory(emirates_id_front="", emirates_id_back="")
    approver = UserFactory(is_staff=True, password=None)
    rejecter = UserFactory(is_staff=True, password=None)
    # when both decide at once
    approved, rejected = run_at_once(
        [
            lambda: services.verification_approve(verification=verification, by=approver),
            lambda: services.verification_reject(verification=verification, by=rejecter, code="unreadable"),
        ]
    )
    # then one decided, the other was told it was already decided
    assert sorted([approved, rejected]) == ["done", "verification_already_decided"]
    winner, expected = (
        (approver, SubmissionStatus.APPROVED) if approved == "done" else (rejecter, SubmissionStatus.REJECTED)
    )
    verification.refresh_from_db()
    assert (verification.status, verification.reviewed_by) == (expected, winner)
    verification.user.refresh_from_db()
    assert verification.user.verification_status == expected
    decisions = VerificationAuditLog.objects.filter(verification=verification, action__in=["approved", "rejected"])
    assert decisions.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_by_one_person_open_only_one():
    user = UserFactory(password=None)

    def submit(n: int) -> Callable[[], object]:
        return lambda: services.verification_submit(
            user=user,
            verification_type="trade_license",
            trade_license_number=f"LIC-{n}",
            issuing_authority="dmcc",
            trade_license_expiry=datetime.date(2030, 1, 1),
            trade_license_document=Document(
                file=SimpleUploadedFile("l.pdf", PDF_BYTES, "application/pdf"), content_type="application/pdf"
            ),
        )

    outcomes = run_at_once([submit(n) for n in range(3)])
    assert sorted(outcomes) == ["done", "verification_pending", "verification_pending"]
    assert Verification.objects.filter(user=user).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_emirates_id_sent_by_two_accounts_at_once_opens_one_submission():
    number = valid_emirates_id(serial=9090901)
    people = [UserFactory(password=None) for _ in range(3)]

    def submit(person) -> Callable[[], object]:
        return lambda: services.verification_submit(
            user=person, verification_type="emirates_id", emirates_id_number=number, **id_photos()
        )

    outcomes = run_at_once([submit(person) for person in people])
    # all three get the same answer; one holds the number, the others wait flagged for a moderator
    assert outcomes == ["done", "done", "done"]
    assert Verification.objects.exclude(emirates_id_digest="").count() == 1
    assert Verification.objects.filter(id_on_another_account=True, emirates_id_digest="").count() == 2
