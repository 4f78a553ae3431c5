"""The report page's buttons (Resolve, Dismiss, Hide listing, Suspend user) and the one
moderation log (LogEntry) that records each action with who, why and when."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client

from accounts.models import User
from catalog.models import Product
from messaging.models import Report, ReportStatus
from tests.messaging.factories import MessageFactory

pytestmark = pytest.mark.django_db


def _report(reporter, *, target_type, target, reported_user) -> Report:
    return Report.objects.create(
        reporter=reporter, target_type=target_type, target_id=target.pk, reported_user=reported_user, reason="scam"
    )


@pytest.fixture
def mod_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


@pytest.fixture
def listing_report(buyer, seller, product) -> Report:
    return _report(buyer, target_type="product", target=product, reported_user=seller)


def _log(obj) -> list[str]:
    return [e.get_change_message() for e in LogEntry.objects.filter(object_id=str(obj.pk)).order_by("action_time")]


def test_the_report_page_shows_the_four_buttons(mod_client, listing_report):
    page = mod_client.get(f"/admin/messaging/report/{listing_report.pk}/change/").content.decode()

    for label in ("Resolve", "Dismiss", "Hide listing", "Suspend user"):
        assert label in page
    assert f"/admin/messaging/report/{listing_report.pk}/hide-listing/" in page


def test_resolve_from_the_page_keeps_the_note_and_is_in_the_history(mod_client, moderator, listing_report):
    response = mod_client.post(
        f"/admin/messaging/report/{listing_report.pk}/close/",
        {"status": "resolved", "resolution_note": "Seller warned by phone."},
    )

    assert response.status_code == 302
    listing_report.refresh_from_db()
    assert (listing_report.status, listing_report.resolved_by) == (ReportStatus.RESOLVED, moderator)
    assert listing_report.resolution_note == "Seller warned by phone."
    assert _log(listing_report) == ["Report resolved: Seller warned by phone."]
    entry = LogEntry.objects.get(object_id=str(listing_report.pk))
    assert entry.user == moderator and entry.action_time is not None
    history = mod_client.get(f"/admin/messaging/report/{listing_report.pk}/history/").content.decode()
    assert "Seller warned by phone." in history


def test_dismiss_from_the_page_and_a_second_close_changes_nothing(mod_client, listing_report):
    url = f"/admin/messaging/report/{listing_report.pk}/close/"
    mod_client.post(url, {"status": "dismissed"})
    mod_client.post(url, {"status": "resolved", "resolution_note": "late"})

    listing_report.refresh_from_db()
    assert listing_report.status == ReportStatus.DISMISSED
    assert listing_report.resolution_note == ""
    assert _log(listing_report) == ["Report dismissed"]


def test_an_unknown_status_is_404_not_a_change(mod_client, listing_report):
    response = mod_client.post(f"/admin/messaging/report/{listing_report.pk}/close/", {"status": "deleted"})

    assert response.status_code == 404
    listing_report.refresh_from_db()
    assert listing_report.status == ReportStatus.OPEN


def test_hide_listing_needs_a_reason_and_confirmation(mod_client, listing_report, product):
    url = f"/admin/messaging/report/{listing_report.pk}/hide-listing/"

    page = mod_client.get(url)
    unconfirmed = mod_client.post(url, {"reason": "Counterfeit"})

    assert page.status_code == 200 and product.title in page.content.decode()
    assert unconfirmed.status_code == 200  # the form again
    product.refresh_from_db()
    assert product.deleted_at is None


def test_hide_listing_takes_it_off_the_api_resolves_the_report_and_is_audited(
    mod_client, moderator, listing_report, product, api_client
):
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 200

    response = mod_client.post(
        f"/admin/messaging/report/{listing_report.pk}/hide-listing/",
        {"reason": "Counterfeit sneakers", "confirm": "on"},
    )

    assert response.status_code == 302
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 404
    assert str(product.pk) not in api_client.get("/api/v1/products/").content.decode()
    listing_report.refresh_from_db()
    assert listing_report.status == ReportStatus.RESOLVED
    assert _log(product) == ["Listing hidden: Counterfeit sneakers"]
    assert LogEntry.objects.get(object_id=str(product.pk)).user == moderator
    assert _log(listing_report) == ["Report resolved: Listing hidden: Counterfeit sneakers"]


def test_suspend_user_signs_them_out_tells_them_why_and_is_audited(
    mod_client, listing_report, seller, auth_client, django_capture_on_commit_callbacks
):
    seller_api = auth_client(seller)
    assert seller_api.get("/api/v1/auth/me/").status_code == 200
    url = f"/admin/messaging/report/{listing_report.pk}/suspend-user/"

    unconfirmed = mod_client.post(url, {"reason": "Selling fakes", "days": 7})
    assert unconfirmed.status_code == 200
    seller.refresh_from_db()
    assert seller.is_active

    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post(url, {"reason": "Selling fakes", "days": 7, "confirm": "on"})

    assert response.status_code == 302
    seller.refresh_from_db()
    assert not seller.is_active and seller.suspended_until is not None
    assert seller.suspension_reason == "Selling fakes"
    assert seller_api.get("/api/v1/auth/me/").status_code == 401  # signed out everywhere
    assert any("Selling fakes" in m.body and seller.email in m.to for m in mail.outbox)  # told why
    assert _log(seller) == ["Suspended for 7 days: Selling fakes"]
    listing_report.refresh_from_db()
    assert listing_report.status == ReportStatus.RESOLVED


def test_suspend_refuses_a_bad_duration(mod_client, listing_report, seller):
    response = mod_client.post(
        f"/admin/messaging/report/{listing_report.pk}/suspend-user/", {"reason": "x", "days": 0, "confirm": "on"}
    )

    assert response.status_code == 200
    seller.refresh_from_db()
    assert seller.is_active


def test_a_staff_member_is_not_suspended_from_a_report(mod_client, buyer, moderator):
    other_mod = User.objects.create_user(username="mod2", email="m2@soukloop.ae", password="x", is_staff=True)
    item = _report(buyer, target_type="user", target=other_mod, reported_user=other_mod)

    response = mod_client.post(
        f"/admin/messaging/report/{item.pk}/suspend-user/", {"reason": "x", "days": 1, "confirm": "on"}
    )

    assert response.status_code == 302
    other_mod.refresh_from_db()
    assert other_mod.is_active


def test_hide_listing_from_a_message_report_hides_the_chat_listing(mod_client, buyer, seller, product, conversation):
    message = MessageFactory(conversation=conversation, sender=seller, content="pay outside the app")
    item = _report(buyer, target_type="message", target=message, reported_user=seller)

    mod_client.post(f"/admin/messaging/report/{item.pk}/hide-listing/", {"reason": "Scam", "confirm": "on"})

    assert Product.objects.get(pk=product.pk).deleted_at is not None


def test_the_list_actions_are_in_the_moderation_log(mod_client, listing_report):
    mod_client.post(
        "/admin/messaging/report/", {"action": "dismiss_reports", "_selected_action": [str(listing_report.pk)]}
    )

    log = mod_client.get("/admin/admin/logentry/").content.decode()
    assert "Report dismissed" in log


def test_a_buyer_cannot_use_the_report_buttons(buyer, listing_report, product):
    client = Client()
    client.force_login(buyer)

    response = client.post(
        f"/admin/messaging/report/{listing_report.pk}/hide-listing/", {"reason": "x", "confirm": "on"}
    )

    assert response.status_code == 302  # to the login page
    product.refresh_from_db()
    assert product.deleted_at is None


def test_staff_who_may_only_view_reports_get_no_buttons_and_a_403(listing_report, product):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user(username="viewer", email="v@soukloop.ae", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_report"))
    client = Client()
    client.force_login(viewer)

    page = client.get(f"/admin/messaging/report/{listing_report.pk}/change/").content.decode()
    response = client.post(
        f"/admin/messaging/report/{listing_report.pk}/hide-listing/", {"reason": "x", "confirm": "on"}
    )

    assert "hide-listing" not in page
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.deleted_at is None


def test_an_offers_fee_rate_cannot_be_edited_in_the_admin(admin_client):
    from decimal import Decimal

    from tests.messaging.factories import OfferFactory

    offer = OfferFactory(fee_percent=Decimal("8.00"))

    page = admin_client.get(f"/admin/messaging/offer/{offer.pk}/change/")

    assert page.status_code == 200
    assert "fee_percent" not in page.context["adminform"].form.fields
    assert "8.00" in page.content.decode()  # shown, read-only
