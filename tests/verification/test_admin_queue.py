"""The moderators' review queue in the Django admin, driven as the `moderator` fixture
(staff + Moderators group, not a superuser)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import sms
from accounts.models import VerificationStatus
from tests.factories import UserFactory
from tests.verification.factories import TradeLicenceVerificationFactory, VerificationFactory, valid_emirates_id
from verification.models import AuditAction, IssuingAuthority, SubmissionStatus, Verification, VerificationAuditLog

CHANGELIST = reverse("admin:verification_verification_changelist")


def change_url(verification: Verification) -> str:
    return reverse("admin:verification_verification_change", args=[verification.pk])


@pytest.fixture
def mod_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def submitted(days_ago: float, **kwargs) -> Verification:
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days_ago), tick=False):
        factory = kwargs.pop("factory", VerificationFactory)
        return factory(**kwargs)


def listed(response) -> list[Verification]:
    return list(response.context["cl"].result_list)


@pytest.mark.django_db
def test_queue_lists_pending_first_oldest_first(mod_client):
    # given decided and pending submissions of various ages
    rejected_old = submitted(10, status=SubmissionStatus.REJECTED, rejection_reason="Blurred")
    pending_new = submitted(0.1)
    approved = submitted(5, status=SubmissionStatus.APPROVED)
    pending_old = submitted(3)
    # when a moderator opens the queue
    response = mod_client.get(CHANGELIST)
    # then pending come first, oldest first, then the decided ones
    assert response.status_code == 200
    assert listed(response) == [pending_old, pending_new, rejected_old, approved]
    html = response.content.decode()
    assert "3\xa0days" in html  # waiting time column
    assert "Approve selected submissions" in html and "Reject selected submissions" in html


@pytest.mark.django_db
def test_list_shows_only_masked_numbers(mod_client):
    number = valid_emirates_id(serial=3141512)
    VerificationFactory(number=number)
    html = mod_client.get(CHANGELIST).content.decode()
    # four digits for moderators (the API shows three): enough to tell colliding masks apart
    assert f"784-****-****512-{number[-1]}" in html
    assert number not in html and number.replace("-", "") not in html


@pytest.mark.django_db
def test_filters_by_status_type_authority_emirate_and_date(mod_client):
    id_pending = submitted(1)
    licence_jafza = submitted(2, factory=TradeLicenceVerificationFactory, issuing_authority=IssuingAuthority.JAFZA)
    licence_rakez = submitted(40, factory=TradeLicenceVerificationFactory, issuing_authority=IssuingAuthority.RAKEZ)
    rejected = submitted(1, status=SubmissionStatus.REJECTED, rejection_reason="x")

    def ids(params: dict) -> set:
        response = mod_client.get(CHANGELIST, params)
        assert response.status_code == 200
        return {v.pk for v in listed(response)}

    assert ids({"status__exact": "rejected"}) == {rejected.pk}
    assert ids({"verification_type__exact": "trade_license"}) == {licence_jafza.pk, licence_rakez.pk}
    assert ids({"issuing_authority__exact": "jafza"}) == {licence_jafza.pk}
    assert ids({"emirate": "ras_al_khaimah"}) == {licence_rakez.pk}
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    week_ago = str(midnight - datetime.timedelta(days=7))  # what the "Past 7 days" link sends
    assert ids({"submitted_at__gte": week_ago}) == {id_pending.pk, licence_jafza.pk, rejected.pk}


@pytest.mark.django_db
def test_search_by_username_email_and_local_phone(mod_client):
    person = UserFactory(username="khalid_r", email="khalid@example.ae", phone="+971501112233")
    mine = VerificationFactory(user=person)
    VerificationFactory()
    for term in ("khalid_r", "khalid@example.ae", "0501112233", "+971501112233"):
        response = mod_client.get(CHANGELIST, {"q": term})
        assert [v.pk for v in listed(response)] == [mine.pk], term
    # a phone search stays within the list filters
    assert listed(mod_client.get(CHANGELIST, {"q": "0501112233", "status__exact": "rejected"})) == []


@pytest.mark.django_db
def test_change_view_shows_the_whole_number_previews_and_logs_the_view(mod_client, moderator):
    number = valid_emirates_id(serial=2718281)
    verification = VerificationFactory(number=number)
    response = mod_client.get(change_url(verification))
    assert response.status_code == 200
    html = response.content.decode()
    assert number in html
    doc_url = reverse("admin:verification_verification_document", args=[verification.pk, "emirates_id_front"])
    assert f'<img class="souk-id-preview" src="{doc_url}"' in html
    assert 'name="_save"' not in html  # nothing to edit by hand
    assert VerificationAuditLog.objects.filter(
        verification=verification, actor=moderator, action=AuditAction.VIEWED_DETAILS
    ).exists()


@pytest.mark.django_db
def test_staff_without_document_permission_sees_no_number_and_no_document(moderator):
    # given staff who may view submissions but not documents
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_verification"))
    client = Client()
    client.force_login(staff)
    number = valid_emirates_id(serial=1618033)
    verification = VerificationFactory(number=number)
    # when they open the submission and try the document URL
    html = client.get(change_url(verification)).content.decode()
    doc = client.get(reverse("admin:verification_verification_document", args=[verification.pk, "emirates_id_front"]))
    # then the number is masked, no preview, document refused, and no actions offered
    assert number not in html and verification.emirates_id_masked in html
    assert doc.status_code == 403
    assert "Approve selected submissions" not in client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_approve_selected_decides_notifies_and_audits(mod_client, moderator, django_capture_on_commit_callbacks):
    # given two pending submissions
    first, second = submitted(2), submitted(1)
    # when the moderator approves both from the list
    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post(
            CHANGELIST,
            {"action": "approve_selected", "_selected_action": [first.pk, second.pk], "index": 0, "apply": "yes"},
        )
    # then both are approved by them, the people are verified and told so
    assert response.status_code == 302
    for verification in (first, second):
        verification.refresh_from_db()
        assert verification.status == SubmissionStatus.APPROVED
        assert verification.reviewed_by == moderator and verification.reviewed_at is not None
        assert verification.user.verification_status == VerificationStatus.APPROVED
        assert VerificationAuditLog.objects.filter(
            verification=verification, action="approved", actor=moderator
        ).exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.user.email, second.user.email])
    assert "approved" in mail.outbox[0].subject
    # one short SMS per language each (a bilingual text was several messages long)
    assert sorted(m.to for m in sms.outbox) == sorted([first.user.phone, second.user.phone] * 2)
    to_first = [m.body for m in sms.outbox if m.to == first.user.phone]
    assert "verified" in to_first[0] and "تم التحقق" in to_first[1]
    assert len(to_first[0]) <= 160 and len(to_first[1]) <= 70
    assert "Approved 2 submissions." in [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_reject_asks_for_a_reason_first(mod_client):
    verification = submitted(1)
    # when the moderator picks "reject" on the list
    response = mod_client.post(
        CHANGELIST, {"action": "reject_selected", "_selected_action": [verification.pk], "index": 0}
    )
    # then an intermediate form asks for the reason and nothing is decided yet
    assert response.status_code == 200
    assert "Reject verification submissions" in response.content.decode()
    assert 'name="reason_code"' in response.content.decode()
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.PENDING
    # and submitting "other" without typing a reason keeps it pending, with the form again
    response = mod_client.post(
        CHANGELIST,
        {"action": "reject_selected", "_selected_action": [verification.pk], "apply": "yes", "reason_code": "other"},
    )
    assert response.status_code == 200
    assert "Type the reason the person will read." in response.content.decode()
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.PENDING


@pytest.mark.django_db
def test_reject_with_a_common_reason(mod_client, moderator, auth_client, django_capture_on_commit_callbacks):
    verification = submitted(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post(
            CHANGELIST,
            {
                "action": "reject_selected",
                "_selected_action": [verification.pk],
                "apply": "yes",
                "reason_code": "unreadable",
            },
        )
    assert response.status_code == 302
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.REJECTED
    assert verification.rejection_code == "unreadable"
    assert verification.reviewed_by == moderator
    assert verification.user.verification_status == VerificationStatus.REJECTED
    assert "unreadable" in mail.outbox[0].body and "unreadable" in sms.outbox[0].body
    # the person reads the reason in the app, in their language
    me = auth_client(verification.user).get("/api/v1/verification/me/", HTTP_ACCEPT_LANGUAGE="ar").json()
    assert me["status"] == "rejected" and me["rejection_code"] == "unreadable"
    assert me["rejection_reason"] and "unreadable" not in me["rejection_reason"]


@pytest.mark.django_db
def test_reject_with_a_typed_reason_from_the_change_view(mod_client, django_capture_on_commit_callbacks):
    verification = submitted(1)
    html = mod_client.get(change_url(verification)).content.decode()
    assert 'value="reject_selected"' in html and 'value="approve_selected"' in html
    with django_capture_on_commit_callbacks(execute=True):
        mod_client.post(
            CHANGELIST,
            {
                "action": "reject_selected",
                "_selected_action": [verification.pk],
                "apply": "yes",
                "reason_code": "other",
                "reason_text": "Please send the photo without the case on.",
            },
        )
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.REJECTED
    assert verification.rejection_reason == "Please send the photo without the case on."
    assert "without the case on" in sms.outbox[0].body


@pytest.mark.django_db
def test_deciding_an_already_decided_submission_warns_and_changes_nothing(mod_client, moderator):
    other_mod = UserFactory(username="mod_ali", is_staff=True)
    verification = submitted(1, status=SubmissionStatus.APPROVED)
    Verification.objects.filter(pk=verification.pk).update(reviewed_by=other_mod, reviewed_at=timezone.now())
    response = mod_client.post(
        CHANGELIST,
        {"action": "reject_selected", "_selected_action": [verification.pk], "apply": "yes", "reason_code": "expired"},
        follow=True,
    )
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.APPROVED
    assert verification.reviewed_by == other_mod
    text = [str(m) for m in response.context["messages"]]
    assert any("Already approved by mod_ali" in m and "that decision stands" in m for m in text), text
    assert VerificationAuditLog.objects.filter(verification=verification, action="decision_refused").exists()
    assert not mail.outbox and not sms.outbox


@pytest.mark.django_db
def test_audit_log_is_read_only_for_moderators_and_in_the_model(mod_client):
    verification = VerificationFactory()
    mod_client.get(change_url(verification))
    entry = VerificationAuditLog.objects.get(action=AuditAction.VIEWED_DETAILS)
    # moderators read the trail
    assert mod_client.get(reverse("admin:verification_verificationauditlog_changelist")).status_code == 200
    # but cannot add, change or delete
    assert mod_client.get(reverse("admin:verification_verificationauditlog_add")).status_code == 403
    assert (
        mod_client.post(
            reverse("admin:verification_verificationauditlog_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    # and the model itself refuses updates and deletes
    from django.core.exceptions import ValidationError

    entry.detail = "tampered"
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    assert VerificationAuditLog.objects.get(pk=entry.pk).detail == ""


@pytest.mark.django_db
def test_moderators_cannot_add_or_edit_submissions_by_hand(mod_client):
    verification = VerificationFactory()
    assert mod_client.get(reverse("admin:verification_verification_add")).status_code == 403
    response = mod_client.post(change_url(verification), {"status": "approved"})
    assert response.status_code == 403
    verification.refresh_from_db()
    assert verification.status == SubmissionStatus.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", [5, 50])
def test_queue_runs_constant_queries(mod_client, django_assert_max_num_queries, page_size, settings):
    from verification.admin import VerificationAdmin

    for _ in range(55):
        VerificationFactory(emirates_id_front="", emirates_id_back="")
    VerificationAdmin.list_per_page = page_size
    try:
        with django_assert_max_num_queries(12):
            response = mod_client.get(CHANGELIST)
    finally:
        VerificationAdmin.list_per_page = 50
    assert len(listed(response)) == page_size


def test_the_queue_names_people_finds_them_by_name_and_tells_colliding_masks_apart(client, moderator):
    from tests.factories import UserFactory
    from tests.verification.factories import VerificationFactory, valid_emirates_id

    mariam = UserFactory(full_name="Mariam Al Mansoori")
    first_number = valid_emirates_id(serial=1234512)
    # another number whose API mask is the same (same last two serial digits and check digit)
    second_number = next(
        n
        for n in (valid_emirates_id(serial=s) for s in range(1230012, 1239912, 100))
        if n[-4:] == first_number[-4:] and n[-5] != first_number[-5]
    )
    first = VerificationFactory(user=mariam, number=first_number)
    second = VerificationFactory(number=second_number)
    assert first.emirates_id_masked == second.emirates_id_masked
    client.force_login(moderator)

    queue = client.get("/admin/verification/verification/", {"q": "Mansoori"}).content.decode()
    page = client.get(f"/admin/verification/verification/{first.pk}/change/").content.decode()

    assert "Mariam Al Mansoori" in queue
    assert str(second.user.username) not in queue
    assert "Verification of Mariam Al Mansoori" in page
    assert f"****{first.emirates_id_last4[:3]}-" in queue
