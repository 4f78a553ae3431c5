"""Moderators decide escalated claims in the admin: each decision moves the money once, through
payments, audited; a second moderator is refused."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from payments.models import PayoutStatus
from soukloop.errors import Conflict, ValidationError
from tests.factories import UserFactory
from trust import services
from trust.models import Claim, ClaimStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalated(open_claim, auth_client, seller, media):
    claim_id = open_claim().json()["id"]
    auth_client(seller).post(
        f"/api/v1/claims/{claim_id}/respond/",
        {"action": "contest", "statement": "It left here perfect", "image_urls": [media("s1")]},
        format="json",
    )
    assert services.claims_escalate_due() == 1
    return Claim.objects.get(pk=claim_id)


def change_url(claim: Claim) -> str:
    return f"/admin/trust/escalatedclaim/{claim.pk}/change/"


def decide(client, claim, **form):
    return client.post(change_url(claim), form)


def test_queue_lists_escalated_claims_oldest_first_with_everything_side_by_side(
    client, moderator, escalated, buyer, seller, media
):
    client.force_login(moderator)

    queue = client.get("/admin/trust/escalatedclaim/")
    page = client.get(change_url(escalated))

    assert queue.status_code == 200
    assert str(escalated.pk) in queue.content.decode()
    html = page.content.decode()
    assert page.status_code == 200
    for expected in ("Scratched screen", "It left here perfect", media("b1"), media("s1"), buyer.username):
        assert expected in html
    assert "decision_choice" in html and "why" in html


def test_full_refund_decision(client, moderator, escalated, paid, fake_stripe, published, seller):
    client.force_login(moderator)

    response = decide(client, escalated, decision_choice="full_refund", why="Photos show a cracked screen")

    assert response.status_code == 302, response.content.decode()[:2000]
    escalated.refresh_from_db()
    assert escalated.status == ClaimStatus.DECIDED
    assert escalated.decision == "full_refund"
    assert escalated.decided_by == moderator and escalated.decided_at is not None
    assert escalated.decision_reason == "Photos show a cracked screen"
    paid.refresh_from_db()
    assert paid.status == "refunded" and paid.payout_status == PayoutStatus.CANCELLED
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [14900]
    assert seller.stats.claims_upheld_count == 1
    assert {e.channel for e in published if e.data.get("step") == "decided"} == {
        f"user:{escalated.buyer_id}",
        f"user:{escalated.seller_id}",
    }
    assert LogEntry.objects.filter(object_id=str(escalated.pk)).exists()


def test_partial_refund_decision(client, moderator, escalated, paid, fake_stripe):
    client.force_login(moderator)

    response = decide(client, escalated, decision_choice="partial_refund", amount="50.00", why="Minor damage")

    assert response.status_code == 302
    escalated.refresh_from_db()
    assert escalated.decision == "partial_refund" and escalated.refund_amount == 50
    paid.refresh_from_db()
    assert paid.status == "partially_refunded" and paid.payout_status == PayoutStatus.REDUCED
    assert paid.held_for_claim is False
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [5000]


def test_release_to_seller_decision(client, moderator, onboarded_seller, escalated, paid, fake_stripe):
    client.force_login(moderator)

    response = decide(client, escalated, decision_choice="release", why="Item matches the listing")

    assert response.status_code == 302
    escalated.refresh_from_db()
    assert escalated.decision == "release"
    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.RELEASED
    assert len(fake_stripe.transfers) == 1
    assert fake_stripe.refunds == {}
    assert onboarded_seller.stats.claims_upheld_count == 0 if hasattr(onboarded_seller, "stats") else True


def test_a_reason_is_required(client, moderator, escalated):
    client.force_login(moderator)

    response = decide(client, escalated, decision_choice="full_refund", why="")

    assert response.status_code == 200  # the form again, with the error
    escalated.refresh_from_db()
    assert escalated.status == ClaimStatus.ESCALATED


def test_a_second_moderator_is_refused_and_money_moves_once(escalated, moderator, fake_stripe):
    other = UserFactory(is_staff=True)
    services.claim_decide(claim_id=escalated.pk, moderator=moderator, decision="full_refund", reason="cracked")

    with pytest.raises(Conflict) as exc:
        services.claim_decide(claim_id=escalated.pk, moderator=other, decision="release", reason="fine")

    assert exc.value.code == "claim_not_escalated"
    assert len(fake_stripe.refunds) == 1


def test_partial_amount_is_checked(escalated, moderator):
    with pytest.raises(ValidationError) as exc:
        services.claim_decide(
            claim_id=escalated.pk, moderator=moderator, decision="partial_refund", amount=None, reason="x"
        )
    assert exc.value.code == "invalid_refund_amount"


def test_a_claim_not_escalated_cannot_be_decided(open_claim, moderator):
    claim_id = open_claim().json()["id"]

    with pytest.raises(Conflict):
        services.claim_decide(claim_id=claim_id, moderator=moderator, decision="release", reason="x")


def test_buyers_see_the_decision_and_its_timestamps(escalated, moderator, auth_client, buyer):
    services.claim_decide(claim_id=escalated.pk, moderator=moderator, decision="full_refund", reason="cracked")

    body = auth_client(buyer).get(f"/api/v1/claims/{escalated.pk}/").json()

    assert body["status"] == "decided"
    assert body["decided_at"] is not None
    assert body["decision"] == {
        "outcome": "full_refund",
        "refund_amount": "149.00",
        "reason": "cracked",
        "by_moderator": True,
    }


def test_user_admin_shows_and_filters_upheld_claims(client, moderator, escalated, seller):
    services.claim_decide(claim_id=escalated.pk, moderator=moderator, decision="full_refund", reason="cracked")
    client.force_login(moderator)

    filtered = client.get("/admin/accounts/user/?claims_upheld=1")

    assert filtered.status_code == 200
    html = filtered.content.decode()
    assert seller.username in html
    assert "mod_sara" not in html.split("result_list")[-1]


def test_stripe_down_during_a_refund_decision_changes_nothing(client, moderator, escalated, paid, fake_stripe):
    fake_stripe.fail_next("POST", "/v1/refunds", status=500)
    client.force_login(moderator)

    response = decide(client, escalated, decision_choice="full_refund", why="Cracked")

    assert response.status_code == 200  # the form again, saying the provider is unavailable
    assert "payment_provider_unavailable" in response.content.decode()
    escalated.refresh_from_db()
    paid.refresh_from_db()
    assert escalated.status == ClaimStatus.ESCALATED
    assert paid.held_for_claim is True and paid.amount_refunded == 0
    # and the retry goes through once Stripe is back
    assert decide(client, escalated, decision_choice="full_refund", why="Cracked").status_code == 302
    assert len(fake_stripe.refunds) == 1


def test_stripe_down_during_a_release_decision_leaves_it_for_release_payouts(
    moderator, onboarded_seller, escalated, paid, fake_stripe
):
    from payments.services import payouts_release_due

    fake_stripe.fail_next("POST", "/v1/transfers", status=500)

    services.claim_decide(claim_id=escalated.pk, moderator=moderator, decision="release", reason="fine")

    paid.refresh_from_db()
    assert paid.payout_status == PayoutStatus.HELD and paid.held_for_claim is False
    from django.utils import timezone

    type(paid).objects.filter(pk=paid.pk).update(receipt_confirmed_at=timezone.now())
    assert payouts_release_due().released == 1
    assert len(fake_stripe.transfers) == 1


def test_seller_accepting_a_refund_while_stripe_is_down_is_503_and_the_claim_stays_open(
    open_claim, auth_client, seller, paid, fake_stripe
):
    claim_id = open_claim().json()["id"]
    fake_stripe.fail_next("POST", "/v1/refunds", status=500)
    client = auth_client(seller)
    client.raise_request_exception = False

    response = client.post(f"/api/v1/claims/{claim_id}/respond/", {"action": "accept_refund"}, format="json")

    assert response.status_code == 503
    assert Claim.objects.get(pk=claim_id).status == ClaimStatus.OPEN
    paid.refresh_from_db()
    assert paid.held_for_claim is True


def test_every_step_reaches_both_parties(open_claim, auth_client, buyer, seller, published):
    claim_id = open_claim().json()["id"]
    auth_client(seller).post(
        f"/api/v1/claims/{claim_id}/respond/", {"action": "propose_partial", "amount": "20.00"}, format="json"
    )
    auth_client(buyer).post(f"/api/v1/claims/{claim_id}/withdraw/")

    steps = [(e.data["step"], e.channel, e.data["status"]) for e in published if e.type == "claim.updated"]
    assert steps == [
        ("opened", f"user:{buyer.pk}", "open"),
        ("opened", f"user:{seller.pk}", "open"),
        ("seller_propose_partial", f"user:{buyer.pk}", "seller_responded"),
        ("seller_propose_partial", f"user:{seller.pk}", "seller_responded"),
        ("withdrawn", f"user:{buyer.pk}", "withdrawn"),
        ("withdrawn", f"user:{seller.pk}", "withdrawn"),
    ]
