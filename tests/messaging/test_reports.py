"""Reports: filing through the API and working the queue in the admin as a moderator."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from messaging.models import Report, ReportStatus
from tests.factories import UserFactory
from tests.messaging.factories import MessageFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


def report(client, target_type, target_id, reason="scam", **extra):
    return client.post(URL, {"target_type": target_type, "target_id": str(target_id), "reason": reason, **extra})


def test_report_a_listing_a_user_and_a_message(buyer_client, buyer, seller, product, conversation):
    message = MessageFactory(conversation=conversation, sender=seller, content="Pay me by gift card")

    listing = report(buyer_client, "product", product.pk, "counterfeit", note="Fake box")
    person = report(buyer_client, "user", seller.pk, "harassment")
    chat = report(buyer_client, "message", message.pk, "scam")

    assert [r.status_code for r in (listing, person, chat)] == [201, 201, 201]
    assert listing.json()["status"] == "open"
    assert listing.json()["note"] == "Fake box"
    rows = Report.objects.order_by("created_at")
    assert [(r.target_type, r.reported_user_id, r.reporter_id) for r in rows] == [
        ("product", seller.pk, buyer.pk),
        ("user", seller.pk, buyer.pk),
        ("message", seller.pk, buyer.pk),
    ]


def test_reporting_the_same_open_thing_twice_does_not_grow_the_queue(buyer_client, product):
    first = report(buyer_client, "product", product.pk)
    second = report(buyer_client, "product", product.pk, "spam")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Report.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"target_type": "stream", "target_id": str(uuid.uuid4()), "reason": "spam"}, "target_type"),
        ({"target_type": "user", "target_id": "nope", "reason": "spam"}, "target_id"),
        ({"target_type": "user", "target_id": str(uuid.uuid4()), "reason": "ugly"}, "reason"),
        ({"target_type": "user", "target_id": str(uuid.uuid4()), "reason": "spam", "note": "x" * 1001}, "note"),
    ],
)
def test_bad_reports_are_400_naming_the_field(buyer_client, payload, attr):
    response = buyer_client.post(URL, payload)

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr


def test_unknown_targets_and_other_peoples_messages_are_404(buyer_client, auth_client):
    strangers_message = MessageFactory()

    assert report(buyer_client, "user", uuid.uuid4()).status_code == 404
    assert report(buyer_client, "product", uuid.uuid4()).status_code == 404
    assert report(buyer_client, "message", strangers_message.pk).status_code == 404
    assert not Report.objects.exists()


def test_cannot_report_yourself(buyer_client, buyer):
    response = report(buyer_client, "user", buyer.pk)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cannot_report_self"


def test_reports_are_throttled(buyer_client, settings):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "reports": "2/hour"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [report(buyer_client, "user", UserFactory().pk).status_code for _ in range(3)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original

    assert statuses == [201, 201, 429]


def test_anonymous_cannot_report(api_client, seller):
    assert report(api_client, "user", seller.pk).status_code == 401


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_moderator_sees_the_queue_and_resolves_and_dismisses(moderator, buyer_client, seller, product):
    # given two open reports
    report(buyer_client, "product", product.pk, "counterfeit")
    report(buyer_client, "user", seller.pk, "spam")
    first, second = Report.objects.order_by("created_at")
    client = admin_client(moderator)

    # when the moderator opens the queue
    queue = client.get("/admin/messaging/report/?status__exact=open")
    assert queue.status_code == 200
    assert str(first.target_id) in queue.content.decode()

    # and resolves one, dismisses the other, through the admin actions
    resolved = client.post(
        "/admin/messaging/report/", {"action": "resolve_reports", "_selected_action": [str(first.pk)]}, follow=True
    )
    dismissed = client.post(
        "/admin/messaging/report/", {"action": "dismiss_reports", "_selected_action": [str(second.pk)]}, follow=True
    )

    # then each is closed with who and when
    assert resolved.status_code == dismissed.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.resolved_by) == (ReportStatus.RESOLVED, moderator)
    assert first.resolved_at is not None
    assert (second.status, second.resolved_by) == (ReportStatus.DISMISSED, moderator)
    # and the detail page opens (read-only facts, an editable resolution note)
    assert client.get(f"/admin/messaging/report/{first.pk}/change/").status_code == 200


def test_closing_again_changes_nothing(moderator, buyer_client, seller):
    from messaging.services import report_close

    report(buyer_client, "user", seller.pk)
    item = Report.objects.get()

    assert report_close(report=item, by=moderator, status=ReportStatus.RESOLVED) is True
    assert report_close(report=item, by=moderator, status=ReportStatus.DISMISSED) is False
    item.refresh_from_db()
    assert item.status == ReportStatus.RESOLVED


def test_a_plain_user_cannot_reach_the_queue(buyer):
    response = admin_client(buyer).get("/admin/messaging/report/")

    assert response.status_code == 302  # to the admin login: not staff


def test_resolving_from_the_list_keeps_the_note_written_on_the_report(moderator, buyer_client, seller):
    # moderators' workspace issue: "Save and continue" with a note, then "Resolve selected
    # reports", left the note empty
    report(buyer_client, "user", seller.pk, "spam")
    item = Report.objects.get()
    Report.objects.filter(pk=item.pk).update(resolution_note="Warned the seller by phone.")
    client = admin_client(moderator)

    client.post(
        "/admin/messaging/report/", {"action": "resolve_reports", "_selected_action": [str(item.pk)]}, follow=True
    )

    item.refresh_from_db()
    assert item.status == "resolved"
    assert item.resolution_note == "Warned the seller by phone."


def test_the_report_queue_opens_on_open_reports_with_a_count_age_and_reports_per_target(
    moderator, buyer_client, seller, product
):
    report(buyer_client, "user", seller.pk, "spam")
    report(buyer_client, "product", product.pk, "counterfeit")
    second_reporter = UserFactory()
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(second_reporter)}")
    report(other, "product", product.pk, "counterfeit")
    client = admin_client(moderator)

    opened = client.get("/admin/messaging/report/")
    assert opened.status_code == 302 and opened["Location"].endswith("?status__exact=open")

    queue = client.get(opened["Location"])
    assert "Reports: 3 open, the oldest waiting" in queue.content.decode()
    rows = list(queue.context["cl"].result_list)
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)  # oldest first
    on_product = [r.open_on_target for r in rows if r.target_id == product.pk]
    assert on_product == [2, 2]


@pytest.mark.parametrize("kind", ["product", "user", "message"])
def test_a_report_page_shows_what_was_reported_with_links(moderator, buyer_client, seller, product, conversation, kind):
    if kind == "message":
        target = MessageFactory(conversation=conversation, sender=seller, content="Send me your bank PIN").pk
    else:
        target = product.pk if kind == "product" else seller.pk
    created = report(buyer_client, kind, target, "scam" if kind != "product" else "counterfeit")
    assert created.status_code == 201, created.content
    item = Report.objects.get()

    page = admin_client(moderator).get(f"/admin/messaging/report/{item.pk}/change/").content.decode()

    expected = {
        "product": (product.title, f"/admin/catalog/product/{product.pk}/change/"),
        "user": (seller.username, f"/admin/accounts/user/{seller.pk}/change/"),
        "message": ("Send me your bank PIN", "/admin/messaging/conversation/"),
    }[kind]
    assert expected[0] in page and expected[1] in page
