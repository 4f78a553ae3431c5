"""Two moderators deciding the same submission at the same moment: one decision stands."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from soukloop.errors import Conflict
from tests.factories import UserFactory
from tests.verification.factories import VerificationFactory
from verification import services
from verification.models import SubmissionStatus, Verification, VerificationAuditLog


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_approve_and_reject_leave_exactly_one_decision(attempt):
    # given one pending submission and two moderators
    verification = VerificationFactory(emirates_id_front="", emirates_id_back="")
    approver = UserFactory(is_staff=True, password=None)
    rejecter = UserFactory(is_staff=True, password=None)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(name: str, call) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[name] = "decided"
        except Conflict as exc:
            outcomes[name] = exc.code
        except Exception as exc:  # surfaces in the assertion instead of dying in the thread
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    def approve() -> None:
        services.verification_approve(verification=verification, by=approver)

    def reject() -> None:
        services.verification_reject(verification=verification, by=rejecter, code="unreadable")

    threads = [
        threading.Thread(target=decide, args=("approve", approve)),
        threading.Thread(target=decide, args=("reject", reject)),
    ]
    # when both decide at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then one decided, the other was told it was already decided
    assert sorted(outcomes.values()) == ["decided", "verification_already_decided"], outcomes
    verification.refresh_from_db()
    winner = approver if outcomes["approve"] == "decided" else rejecter
    expected = SubmissionStatus.APPROVED if winner == approver else SubmissionStatus.REJECTED
    assert verification.status == expected
    assert verification.reviewed_by == winner
    verification.user.refresh_from_db()
    assert verification.user.verification_status == expected
    decisions = VerificationAuditLog.objects.filter(verification=verification, action__in=["approved", "rejected"])
    assert decisions.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_by_one_person_open_only_one():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.verification.conftest import PDF_BYTES
    from verification.services import Document

    user = UserFactory(password=None)
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def submit(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            upload = SimpleUploadedFile("l.pdf", PDF_BYTES, "application/pdf")
            services.verification_submit(
                user=user,
                verification_type="trade_license",
                trade_license_number=f"LIC-{n}",
                issuing_authority="dmcc",
                trade_license_expiry=__import__("datetime").date(2030, 1, 1),
                trade_license_document=Document(file=upload, content_type="application/pdf"),
            )
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created", "verification_pending", "verification_pending"]
    assert Verification.objects.filter(user=user).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_emirates_id_sent_by_two_accounts_at_once_opens_one_submission():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.verification.conftest import image_bytes
    from tests.verification.factories import valid_emirates_id
    from verification.services import Document

    number = valid_emirates_id(serial=9090901)
    people = [UserFactory(password=None) for _ in range(3)]
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []

    def submit(person) -> None:
        try:
            barrier.wait(timeout=10)
            sides = {
                side: Document(
                    file=SimpleUploadedFile(f"{side}.jpg", image_bytes(), "image/jpeg"), content_type="image/jpeg"
                )
                for side in ("emirates_id_front", "emirates_id_back")
            }
            services.verification_submit(
                user=person, verification_type="emirates_id", emirates_id_number=number, **sides
            )
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created", "emirates_id_in_use", "emirates_id_in_use"], outcomes
    assert Verification.objects.count() == 1
