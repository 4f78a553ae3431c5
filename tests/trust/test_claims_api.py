"""Claims over HTTP: opening, the payout hold, the seller's answers, the buyer's moves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from payments.models import PayoutStatus, Transaction
from payments.services import payouts_release_due
from soukloop import events
from tests.factories import UserFactory
from tests.trust.helpers import completed_sale
from trust.models import Claim, ClaimStatus

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


def codes(response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


# --- opening ------------------------------------------------------------------------------


def test_buyer_opens_a_claim_and_the_payout_stays_held(open_claim, paid, published, buyer, seller):
    response = open_claim()

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open"
    assert body["transaction"] == str(paid.pk)
    assert body["reason"] == "not_as_described"
    assert body["seller_response"] is None and body["decision"] is None
    assert body["escalates_at"] is not None
    paid.refresh_from_db()
    assert paid.held_for_claim is True
    assert paid.payout_blocked_reason == "claim_open"
    # both parties hear about it
    assert {(e.type, e.channel) for e in published} >= {
        ("claim.updated", f"user:{buyer.pk}"),
        ("claim.updated", f"user:{seller.pk}"),
    }


def test_confirm_receipt_and_release_payouts_skip_a_claimed_payout(
    open_claim, paid, auth_client, buyer, onboarded_seller, fake_stripe
):
    assert open_claim().status_code == 201

    confirmed = auth_client(buyer).post(f"/api/v1/transactions/{paid.pk}/confirm-receipt/")
    Transaction.objects.filter(pk=paid.pk).update(completed_at=timezone.now() - timedelta(days=30))
    report = payouts_release_due()

    assert confirmed.status_code == 200
    assert confirmed.json()["payout_status"] == "held"
    assert confirmed.json()["payout_blocked_reason"] == "claim_open"
    assert report.released == 0
    assert fake_stripe.calls("POST", "/v1/transfers") == []
    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.HELD


def test_a_second_open_claim_on_the_same_purchase_is_409(open_claim):
    assert open_claim().status_code == 201

    again = open_claim(reason="damaged")

    assert again.status_code == 409
    assert codes(again) == ["claim_already_open"]


def test_max_open_claims_per_buyer_is_409(open_claim, buyer, settings):
    settings.MAX_OPEN_CLAIMS = 2
    for _ in range(2):
        other = completed_sale(buyer=buyer, seller=UserFactory(role="seller"))
        Claim.objects.create(
            transaction=other,
            buyer=buyer,
            seller=other.seller,
            reason="other",
            description="x",
            escalates_at=timezone.now(),
        )

    response = open_claim()

    assert response.status_code == 409
    assert codes(response) == ["too_many_open_claims"]


def test_a_stranger_gets_404_and_the_seller_403(paid, auth_client, seller):
    body = {"reason": "other", "description": "x"}
    stranger = auth_client(UserFactory()).post(f"/api/v1/transactions/{paid.pk}/claim/", body, format="json")
    as_seller = auth_client(seller).post(f"/api/v1/transactions/{paid.pk}/claim/", body, format="json")

    assert stranger.status_code == 404
    assert as_seller.status_code == 403
    assert codes(as_seller) == ["not_the_buyer"]
    assert not Claim.objects.exists()


def test_photos_must_be_our_own_media_and_at_most_six(open_claim, media):
    foreign = open_claim(image_urls=["https://evil.example.com/x.jpg"])
    seven = open_claim(image_urls=[media(f"p{i}") for i in range(7)])
    bad_reason = open_claim(reason="changed_my_mind")

    assert foreign.status_code == 400
    assert seven.status_code == 400
    assert bad_reason.status_code == 400
    assert not Claim.objects.exists()


def test_no_claim_once_the_payout_was_released(paid, auth_client, buyer):
    Transaction.objects.filter(pk=paid.pk).update(payout_status=PayoutStatus.RELEASED)

    response = auth_client(buyer).post(
        f"/api/v1/transactions/{paid.pk}/claim/", {"reason": "other", "description": "x"}, format="json"
    )

    assert response.status_code == 409
    assert codes(response) == ["payout_released"]


def test_no_claim_on_an_unknown_transaction(auth_client, buyer):
    url = "/api/v1/transactions/00000000-0000-0000-0000-000000000000/claim/"
    response = auth_client(buyer).post(url, {"reason": "other", "description": "x"}, format="json")

    assert response.status_code == 404


# --- reading ------------------------------------------------------------------------------


def test_buyer_and_seller_see_the_claim_strangers_get_404(open_claim, auth_client, buyer, seller):
    claim_id = open_claim().json()["id"]

    as_buyer = auth_client(buyer).get(f"{CLAIMS}{claim_id}/")
    as_seller = auth_client(seller).get(f"{CLAIMS}{claim_id}/")
    stranger = auth_client(UserFactory()).get(f"{CLAIMS}{claim_id}/")
    stranger_list = auth_client(UserFactory()).get(CLAIMS)
    seller_list = auth_client(seller).get(CLAIMS)

    assert as_buyer.status_code == 200 and as_buyer.json()["role"] == "buyer"
    assert as_seller.status_code == 200 and as_seller.json()["role"] == "seller"
    assert stranger.status_code == 404
    assert stranger_list.json()["count"] == 0
    assert [c["id"] for c in seller_list.json()["results"]] == [claim_id]
    for key in (
        "id",
        "transaction",
        "reason",
        "description",
        "image_urls",
        "status",
        "seller_response",
        "proposed_refund_amount",
        "decision",
        "decided_at",
        "created_at",
    ):
        assert key in as_buyer.json()


def test_claims_list_is_constant_in_queries(auth_client, buyer, django_assert_max_num_queries):
    for _ in range(5):
        tx = completed_sale(buyer=buyer, seller=UserFactory(role="seller"))
        Claim.objects.create(
            transaction=tx, buyer=buyer, seller=tx.seller, reason="other", description="x", escalates_at=timezone.now()
        )
    client = auth_client(buyer)

    with django_assert_max_num_queries(4):
        response = client.get(CLAIMS)

    assert response.json()["count"] == 5


# --- the seller's answer -------------------------------------------------------------------


def test_seller_accepts_a_full_refund_resolved(open_claim, auth_client, seller, paid, fake_stripe):
    claim_id = open_claim().json()["id"]

    response = auth_client(seller).post(
        f"{CLAIMS}{claim_id}/respond/", {"action": "accept_refund", "statement": "Sorry"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved"
    assert body["decision"] == {
        "outcome": "full_refund",
        "refund_amount": "149.00",
        "reason": "",
        "by_moderator": False,
    }
    assert body["seller_response"]["action"] == "accept_refund"
    paid.refresh_from_db()
    assert paid.status == "refunded"
    assert paid.payout_status == PayoutStatus.CANCELLED
    assert paid.held_for_claim is False
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [14900]
    assert seller.stats.claims_upheld_count == 1


def test_partial_proposal_then_buyer_accepts(open_claim, auth_client, buyer, seller, paid, fake_stripe):
    claim_id = open_claim().json()["id"]

    proposed = auth_client(seller).post(
        f"{CLAIMS}{claim_id}/respond/",
        {"action": "propose_partial", "amount": "40.00", "statement": "Small scratch"},
        format="json",
    )
    accepted = auth_client(buyer).post(f"{CLAIMS}{claim_id}/accept-proposal/")

    assert proposed.status_code == 200
    assert proposed.json()["status"] == "seller_responded"
    assert proposed.json()["proposed_refund_amount"] == "40.00"
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "resolved"
    assert accepted.json()["decision"]["refund_amount"] == "40.00"
    paid.refresh_from_db()
    assert paid.status == "partially_refunded"
    assert paid.payout_status == PayoutStatus.REDUCED
    assert paid.held_for_claim is False  # back on the normal hold, for less
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [4000]


def test_partial_proposal_must_be_less_than_what_is_left(open_claim, auth_client, seller):
    claim_id = open_claim().json()["id"]
    url = f"{CLAIMS}{claim_id}/respond/"

    too_much = auth_client(seller).post(url, {"action": "propose_partial", "amount": "149.00"}, format="json")
    missing = auth_client(seller).post(url, {"action": "propose_partial"}, format="json")

    assert too_much.status_code == 400 and codes(too_much) == ["invalid_refund_amount"]
    assert missing.status_code == 400
    assert Claim.objects.get().status == ClaimStatus.OPEN


def test_accepting_without_a_proposal_is_409(open_claim, auth_client, buyer):
    claim_id = open_claim().json()["id"]

    response = auth_client(buyer).post(f"{CLAIMS}{claim_id}/accept-proposal/")

    assert response.status_code == 409 and codes(response) == ["no_proposal"]


def test_only_the_seller_responds_and_only_once(open_claim, auth_client, buyer, seller, media):
    claim_id = open_claim().json()["id"]
    url = f"{CLAIMS}{claim_id}/respond/"
    body = {"action": "contest", "statement": "It was perfect", "image_urls": [media("s1")]}

    by_buyer = auth_client(buyer).post(url, body, format="json")
    by_stranger = auth_client(UserFactory()).post(url, body, format="json")
    first = auth_client(seller).post(url, body, format="json")
    second = auth_client(seller).post(url, body, format="json")

    assert by_buyer.status_code == 403
    assert by_stranger.status_code == 404
    assert first.status_code == 200
    assert first.json()["seller_response"]["image_urls"] == [media("s1")]
    assert second.status_code == 409 and codes(second) == ["claim_not_open"]


def test_contest_needs_a_statement(open_claim, auth_client, seller):
    claim_id = open_claim().json()["id"]

    response = auth_client(seller).post(f"{CLAIMS}{claim_id}/respond/", {"action": "contest"}, format="json")

    assert response.status_code == 400


# --- escalation ----------------------------------------------------------------------------


def test_silent_seller_escalates_after_the_response_window(open_claim, published):
    claim_id = open_claim().json()["id"]
    call_command("escalate_claims")  # too early: nothing
    assert Claim.objects.get(pk=claim_id).status == ClaimStatus.OPEN

    Claim.objects.filter(pk=claim_id).update(escalates_at=timezone.now() - timedelta(minutes=1))
    published.clear()
    call_command("escalate_claims")
    call_command("escalate_claims")  # idempotent

    claim = Claim.objects.get(pk=claim_id)
    assert claim.status == ClaimStatus.ESCALATED
    assert claim.escalated_at is not None
    assert len([e for e in published if e.data["step"] == "escalated"]) == 2  # buyer + seller, once


def test_contest_goes_to_moderators_at_the_next_run(open_claim, auth_client, seller):
    claim_id = open_claim().json()["id"]
    auth_client(seller).post(f"{CLAIMS}{claim_id}/respond/", {"action": "contest", "statement": "No"}, format="json")

    call_command("escalate_claims")

    assert Claim.objects.get(pk=claim_id).status == ClaimStatus.ESCALATED


def test_response_window_is_the_setting(open_claim, settings):
    settings.CLAIM_SELLER_RESPONSE_HOURS = 48
    body = open_claim().json()
    claim = Claim.objects.get(pk=body["id"])

    assert timedelta(hours=47, minutes=59) < claim.escalates_at - claim.created_at <= timedelta(hours=48, minutes=1)


# --- withdrawing ---------------------------------------------------------------------------


def test_buyer_withdraws_and_the_payout_returns_to_the_normal_hold(open_claim, auth_client, buyer, paid):
    claim_id = open_claim().json()["id"]

    response = auth_client(buyer).post(f"{CLAIMS}{claim_id}/withdraw/")

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    paid.refresh_from_db()
    assert paid.held_for_claim is False
    assert paid.payout_blocked_reason == ""
    # and a withdrawn claim does not block a new one while the payout is held
    assert open_claim().status_code == 201


def test_withdraw_only_by_the_buyer_and_not_once_escalated(open_claim, auth_client, buyer, seller):
    claim_id = open_claim().json()["id"]
    by_seller = auth_client(seller).post(f"{CLAIMS}{claim_id}/withdraw/")
    Claim.objects.filter(pk=claim_id).update(status=ClaimStatus.ESCALATED)
    escalated = auth_client(buyer).post(f"{CLAIMS}{claim_id}/withdraw/")

    assert by_seller.status_code == 403
    assert escalated.status_code == 409 and codes(escalated) == ["claim_not_withdrawable"]


def test_a_settled_claim_cannot_be_reopened(open_claim, auth_client, seller):
    claim_id = open_claim().json()["id"]
    auth_client(seller).post(
        f"{CLAIMS}{claim_id}/respond/", {"action": "propose_partial", "amount": "10.00"}, format="json"
    )
    Claim.objects.filter(pk=claim_id).update(status=ClaimStatus.RESOLVED)

    again = open_claim()

    assert again.status_code == 409 and codes(again) == ["claim_already_settled"]


def test_money_is_decimal(open_claim, auth_client, seller):
    claim_id = open_claim().json()["id"]
    auth_client(seller).post(
        f"{CLAIMS}{claim_id}/respond/", {"action": "propose_partial", "amount": "10.005"}, format="json"
    )

    assert Claim.objects.get(pk=claim_id).proposed_refund_amount in (None, Decimal("10.01"), Decimal("10.00"))


def test_a_claim_opens_the_same_way_on_an_offer_checkout(auth_client, buyer, seller):
    from messaging.models import OfferStatus
    from tests.payments.factories import OfferFactory

    tx = completed_sale(buyer=buyer, seller=seller, feed_type="community")
    offer = OfferFactory(product=tx.product, buyer=buyer, status=OfferStatus.ACCEPTED)
    Transaction.objects.filter(pk=tx.pk).update(offer=offer)

    response = auth_client(buyer).post(
        f"/api/v1/transactions/{tx.pk}/claim/", {"reason": "not_received", "description": "Never came"}, format="json"
    )

    assert response.status_code == 201
    tx.refresh_from_db()
    assert tx.held_for_claim is True


# --- a refund outside the claim ------------------------------------------------------------


def _refund(auth_client, seller, tx_id, **body):
    return auth_client(seller).post(f"/api/v1/transactions/{tx_id}/refund/", body, format="json")


@pytest.fixture
def delivered():
    """Events as the sinks receive them, after commit."""
    got: list[events.Event] = []
    events.register_sink("test-delivered", got.append)
    yield got
    events.unregister_sink("test-delivered")


@pytest.mark.parametrize("stage", ["open", "escalated"])
def test_a_full_refund_from_the_sellers_button_resolves_the_open_claim(
    open_claim, auth_client, seller, paid, delivered, django_capture_on_commit_callbacks, stage
):
    claim_id = open_claim().json()["id"]
    if stage == "escalated":
        Claim.objects.filter(pk=claim_id).update(status=ClaimStatus.ESCALATED)

    with django_capture_on_commit_callbacks(execute=True):
        response = _refund(auth_client, seller, paid.pk)

    assert response.status_code == 200, response.content
    claim = Claim.objects.get(pk=claim_id)
    assert claim.status == ClaimStatus.RESOLVED  # nothing left for a moderator to decide
    assert claim.decision == "full_refund" and claim.refund_amount == Decimal("149.00")
    paid.refresh_from_db()
    assert paid.held_for_claim is False
    steps = [(e.data["role"], e.data["step"]) for e in delivered if e.type == "claim.updated"]
    assert sorted(steps) == [("buyer", "refunded"), ("seller", "refunded")]
    seller.stats.refresh_from_db()
    assert seller.stats.claims_upheld_count == 1


def test_a_partial_refund_from_the_sellers_button_leaves_the_claim_open(
    open_claim, auth_client, seller, paid, django_capture_on_commit_callbacks
):
    claim_id = open_claim().json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = _refund(auth_client, seller, paid.pk, amount="40.00")

    assert response.status_code == 200, response.content
    assert Claim.objects.get(pk=claim_id).status == ClaimStatus.OPEN


def test_if_the_event_was_lost_the_escalation_run_resolves_instead_of_escalating(open_claim, auth_client, seller, paid):
    claim_id = open_claim().json()["id"]
    assert _refund(auth_client, seller, paid.pk).status_code == 200  # its after-commit event never runs here
    assert Claim.objects.get(pk=claim_id).status == ClaimStatus.OPEN

    Claim.objects.filter(pk=claim_id).update(escalates_at=timezone.now() - timedelta(minutes=1))
    call_command("escalate_claims")

    claim = Claim.objects.get(pk=claim_id)
    assert claim.status == ClaimStatus.RESOLVED and claim.decision == "full_refund"
