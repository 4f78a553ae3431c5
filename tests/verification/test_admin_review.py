"""Deciding submissions with context: approve asks first and warns about unopened documents,
"& next" buttons, reject reasons that fit the submission, Dubai times, the moderation log."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.verification.factories import TradeLicenceVerificationFactory, VerificationFactory
from verification.models import SubmissionStatus, Verification

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:verification_verification_changelist")


def change_url(v: Verification) -> str:
    return reverse("admin:verification_verification_change", args=[v.pk])


@pytest.fixture
def mod_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def submitted(days_ago: float, factory=VerificationFactory, **kwargs) -> Verification:
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days_ago), tick=False):
        return factory(**kwargs)


def test_bulk_approve_asks_first_and_warns_about_unopened_documents(mod_client):
    first, second = submitted(2), submitted(1)

    page = mod_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [first.pk, second.pk]})

    assert page.status_code == 200
    html = page.content.decode()
    assert "Approve these 2 submissions?" in html
    assert 'id="unopened-warning"' in html and "Approve anyway" in html
    for v in (first, second):
        v.refresh_from_db()
        assert v.status == SubmissionStatus.PENDING
    assert not LogEntry.objects.exists()


def test_no_warning_once_the_documents_were_opened(mod_client):
    verification = submitted(1)
    mod_client.get(change_url(verification))  # shows the full number and documents: audited

    page = mod_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [verification.pk]})

    html = page.content.decode()
    assert "Approve this submission?" in html
    assert 'id="unopened-warning"' not in html and "Yes, approve" in html


def test_confirmed_approval_is_in_the_moderation_log_and_history(mod_client, moderator):
    verification = submitted(1)

    mod_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [verification.pk], "apply": "yes"})

    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.APPROVED
    entry = LogEntry.objects.get(object_id=str(verification.pk))
    assert (entry.user, entry.get_change_message()) == (moderator, "Approved")
    assert (
        "Approved"
        in mod_client.get(reverse("admin:verification_verification_history", args=[verification.pk])).content.decode()
    )


def test_approve_and_next_opens_the_oldest_still_waiting(mod_client):
    current, oldest_other, newer = submitted(3), submitted(2), submitted(1)
    html = mod_client.get(change_url(current)).content.decode()
    assert "Approve &amp; next" in html and "Reject &amp; next" in html

    response = mod_client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [current.pk], "apply": "yes", "_next": "1"}
    )

    assert response.status_code == 302 and response["Location"] == change_url(oldest_other)
    assert newer.pk != oldest_other.pk


def test_reject_and_next_back_to_the_queue_when_nothing_waits(mod_client):
    only = submitted(1)

    response = mod_client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": [only.pk],
            "apply": "yes",
            "reason_code": "unreadable",
            "_next": "1",
        },
    )

    assert response.status_code == 302 and response["Location"] == CHANGELIST
    only.refresh_from_db()
    assert only.status == SubmissionStatus.REJECTED
    assert LogEntry.objects.get(object_id=str(only.pk)).get_change_message().startswith("Rejected: ")


def test_the_reject_form_lists_only_undecided_submissions(mod_client):
    pending = submitted(1)
    decided = submitted(2, status=SubmissionStatus.APPROVED)

    page = mod_client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [pending.pk, decided.pk]})

    html = page.content.decode()
    assert f'value="{pending.pk}"' in html and f'value="{decided.pk}"' not in html
    assert "1 selected submission is already decided" in html


@pytest.mark.parametrize(
    ("factory", "fits", "does_not_fit"),
    [
        (VerificationFactory, "side_missing", "licence_invalid"),
        (TradeLicenceVerificationFactory, "licence_invalid", "side_missing"),
    ],
)
def test_reject_reasons_fit_the_submission_type(mod_client, factory, fits, does_not_fit):
    verification = submitted(1, factory=factory)

    page = mod_client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [verification.pk]})
    refused = mod_client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": [verification.pk],
            "apply": "yes",
            "reason_code": does_not_fit,
        },
    )

    html = page.content.decode()
    assert f'value="{fits}"' in html and f'value="{does_not_fit}"' not in html
    assert refused.status_code == 200  # the form again
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.PENDING


def test_earlier_submissions_are_in_dubai_time(mod_client):
    utc_evening = datetime.datetime(2026, 3, 1, 21, 30, tzinfo=datetime.UTC)  # 01:30 next day in Dubai
    with time_machine.travel(utc_evening, tick=False):
        earlier = VerificationFactory(status=SubmissionStatus.REJECTED, rejection_reason="Blurred")
    current = VerificationFactory(user=earlier.user)

    html = mod_client.get(change_url(current)).content.decode()

    assert "2026-03-02 01:30" in html and "2026-03-01 21:30" not in html
