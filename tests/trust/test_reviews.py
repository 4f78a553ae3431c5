"""Two-way reviews: once each, hidden until both reviewed or the window closed, published
together; the rating on profiles and seller summaries; replies, reports, hiding, farming."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import UserStats
from messaging.models import Report
from tests.factories import ProductFactory, UserFactory
from tests.trust.helpers import completed_sale
from trust.models import Claim, Review
from trust.services import review_set_hidden

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(buyer, seller):
    return completed_sale(buyer=buyer, seller=seller)


def review(client, tx, rating=5, comment="Great"):
    return client.post(f"/api/v1/transactions/{tx.pk}/review/", {"rating": rating, "comment": comment}, format="json")


def reviews_of(api_client, user):
    return api_client.get(f"/api/v1/users/{user.username}/reviews/")


def codes(response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def test_hidden_until_both_reviewed_then_published_together(auth_client, api_client, sale, buyer, seller):
    first = review(auth_client(buyer), sale, 5, "Smooth deal")

    assert first.status_code == 201, first.content
    assert first.json()["is_published"] is False
    assert first.json()["role"] == "as_seller"
    assert reviews_of(api_client, seller).json()["count"] == 0
    assert api_client.get(f"/api/v1/users/{seller.username}/").json()["stats"]["rating"] is None

    second = review(auth_client(seller), sale, 4, "Paid fast")

    assert second.status_code == 201
    of_seller = reviews_of(api_client, seller).json()["results"]
    of_buyer = reviews_of(api_client, buyer).json()["results"]
    assert [(r["rating"], r["role"], r["comment"]) for r in of_seller] == [(5, "as_seller", "Smooth deal")]
    assert [(r["rating"], r["role"]) for r in of_buyer] == [(4, "as_buyer")]
    assert of_seller[0]["reviewer"]["username"] == buyer.username
    assert of_seller[0]["product"]["id"] == str(sale.product_id)
    assert of_seller[0]["reply"] is None
    stats = api_client.get(f"/api/v1/users/{seller.username}/").json()["stats"]
    assert stats["rating"] == 5.0 and stats["rating_count"] == 1


def test_window_close_publishes_a_lone_review(auth_client, api_client, sale, buyer, seller, settings):
    review(auth_client(buyer), sale, 3)
    Review.objects.update()  # nothing published yet
    sale.__class__.objects.filter(pk=sale.pk).update(
        completed_at=timezone.now() - timedelta(days=settings.REVIEW_WINDOW_DAYS, minutes=1)
    )

    call_command("publish_reviews")
    call_command("publish_reviews")  # idempotent

    assert [r["rating"] for r in reviews_of(api_client, seller).json()["results"]] == [3]
    assert UserStats.objects.get(user=seller).rating_count == 1


def test_lazy_publish_on_read(auth_client, api_client, sale, buyer, seller, settings):
    review(auth_client(buyer), sale, 2)
    sale.__class__.objects.filter(pk=sale.pk).update(completed_at=timezone.now() - timedelta(days=31))

    assert [r["rating"] for r in reviews_of(api_client, seller).json()["results"]] == [2]


def test_once_each_within_the_window(auth_client, sale, buyer, seller):
    assert review(auth_client(buyer), sale).status_code == 201
    again = review(auth_client(buyer), sale)
    sale.__class__.objects.filter(pk=sale.pk).update(completed_at=timezone.now() - timedelta(days=31))
    late = review(auth_client(seller), sale)

    assert again.status_code == 409 and codes(again) == ["already_reviewed"]
    assert late.status_code == 409 and codes(late) == ["review_window_closed"]


def test_strangers_404_bad_input_400_pending_409(auth_client, sale, buyer, seller):
    stranger = review(auth_client(UserFactory()), sale)
    zero = review(auth_client(buyer), sale, rating=0)
    six = review(auth_client(buyer), sale, rating=6)
    long_comment = review(auth_client(buyer), sale, comment="x" * 1001)
    pending = completed_sale(buyer=buyer, seller=seller, status="pending", completed_at=None)
    not_done = review(auth_client(buyer), pending)

    assert stranger.status_code == 404
    assert (zero.status_code, six.status_code, long_comment.status_code) == (400, 400, 400)
    assert not_done.status_code == 409 and codes(not_done) == ["transaction_not_completed"]


def test_no_review_while_a_claim_is_open(auth_client, sale, buyer, seller):
    Claim.objects.create(
        transaction=sale, buyer=buyer, seller=seller, reason="other", description="x", escalates_at=timezone.now()
    )

    response = review(auth_client(buyer), sale)

    assert response.status_code == 409 and codes(response) == ["claim_open"]


def test_reply_once_by_the_reviewed_person(auth_client, sale, buyer, seller, api_client):
    review(auth_client(buyer), sale)
    review(auth_client(seller), sale)
    of_seller = Review.objects.get(reviewee=seller)
    url = f"/api/v1/reviews/{of_seller.pk}/reply/"

    by_reviewer = auth_client(buyer).post(url, {"reply": "me"}, format="json")
    by_stranger = auth_client(UserFactory()).post(url, {"reply": "me"}, format="json")
    first = auth_client(seller).post(url, {"reply": "Thank you!"}, format="json")
    second = auth_client(seller).post(url, {"reply": "Again"}, format="json")

    assert by_reviewer.status_code == 403
    assert by_stranger.status_code == 403
    assert first.status_code == 200 and first.json()["reply"]["text"] == "Thank you!"
    assert second.status_code == 409 and codes(second) == ["already_replied"]
    assert reviews_of(api_client, seller).json()["results"][0]["reply"]["text"] == "Thank you!"


def test_reply_to_an_unpublished_review_is_404(auth_client, sale, buyer, seller):
    review(auth_client(buyer), sale)
    hidden = Review.objects.get()

    response = auth_client(seller).post(f"/api/v1/reviews/{hidden.pk}/reply/", {"reply": "hi"}, format="json")

    assert response.status_code == 404


def test_reviews_are_reportable_and_hidden_by_moderators_with_the_rating_following(
    auth_client, sale, buyer, seller, moderator, api_client, client
):
    other_buyer = UserFactory()
    other_sale = completed_sale(buyer=other_buyer, seller=seller)
    review(auth_client(buyer), sale, 1, "Rude")
    review(auth_client(seller), sale, 5)
    review(auth_client(other_buyer), other_sale, 5)
    review(auth_client(seller), other_sale, 5)
    assert api_client.get(f"/api/v1/users/{seller.username}/").json()["stats"]["rating"] == 3.0
    rude = Review.objects.get(reviewer=buyer)

    reported = auth_client(seller).post(
        "/api/v1/reports/", {"target_type": "review", "target_id": str(rude.pk), "reason": "harassment"}, format="json"
    )
    client.force_login(moderator)
    hidden = client.post(f"/admin/trust/review/{rude.pk}/change/", {"hide": "on", "reason": "Abusive"})

    assert reported.status_code == 201
    assert Report.objects.get().reported_user_id == buyer.pk
    assert hidden.status_code == 302
    rude.refresh_from_db()
    assert rude.hidden_at is not None and rude.hidden_by == moderator and rude.hidden_reason == "Abusive"
    stats = api_client.get(f"/api/v1/users/{seller.username}/").json()["stats"]
    assert stats == {**stats, "rating": 5.0, "rating_count": 1}
    assert [r["rating"] for r in reviews_of(api_client, seller).json()["results"]] == [5]

    review_set_hidden(review=rude, by=moderator, hidden=False)
    assert api_client.get(f"/api/v1/users/{seller.username}/").json()["stats"]["rating"] == 3.0


def test_rating_is_a_two_decimal_mean(auth_client, api_client, seller):
    for rating in (5, 4, 4):
        b = UserFactory()
        tx = completed_sale(buyer=b, seller=seller)
        review(auth_client(b), tx, rating)
        review(auth_client(seller), tx, 5)

    stats = api_client.get(f"/api/v1/users/{seller.username}/").json()["stats"]

    assert stats["rating"] == 4.33 and stats["rating_count"] == 3
    assert UserStats.objects.get(user=seller).rating == Decimal("4.33")


# --- anti-farming ---------------------------------------------------------------------------


def test_a_refunded_sale_does_not_lift_the_rating(auth_client, buyer, seller):
    tx = completed_sale(buyer=buyer, seller=seller, status="refunded", amount_refunded=Decimal("100.00"))

    assert review(auth_client(buyer), tx, 5).status_code == 201
    review(auth_client(seller), tx, 5)

    assert Review.objects.get(reviewer=buyer).counts is False
    assert UserStats.objects.get(user=seller).rating is None


def test_the_same_pair_counts_once(auth_client, buyer, seller):
    for _ in range(3):
        tx = completed_sale(buyer=buyer, seller=seller)
        review(auth_client(buyer), tx, 5)
        review(auth_client(seller), tx, 5)

    stats = UserStats.objects.get(user=seller)
    assert stats.rating_count == 1  # three sales to one buyer are one opinion


def test_accounts_trading_back_and_forth_do_not_count(auth_client, buyer, seller):
    completed_sale(buyer=seller, seller=buyer)  # they also sold the other way
    tx = completed_sale(buyer=buyer, seller=seller)

    review(auth_client(buyer), tx, 5)
    review(auth_client(seller), tx, 5)

    assert UserStats.objects.get(user=seller).rating is None
    assert Review.objects.filter(counts=True).count() == 0


# --- stats on lists, without N+1 -------------------------------------------------------------


def test_seller_summaries_in_product_lists_carry_the_rating(auth_client, api_client, buyer, seller):
    tx = completed_sale(buyer=buyer, seller=seller)
    review(auth_client(buyer), tx, 4)
    review(auth_client(seller), tx, 5)
    ProductFactory(seller=seller)

    results = api_client.get("/api/v1/products/").json()["results"]

    assert results and all(r["seller"]["rating"] == 4.0 and r["seller"]["rating_count"] == 1 for r in results)


def test_user_reviews_list_is_constant_in_queries(auth_client, api_client, seller, django_assert_max_num_queries):
    for _ in range(6):
        b = UserFactory()
        tx = completed_sale(buyer=b, seller=seller)
        review(auth_client(b), tx, 5)
        review(auth_client(seller), tx, 4)

    with django_assert_max_num_queries(5):
        response = reviews_of(api_client, seller)

    assert response.json()["count"] == 6


def test_product_list_queries_do_not_grow_with_sellers(api_client, django_assert_max_num_queries):
    for _ in range(8):
        s = UserFactory(role="seller")
        UserStats.objects.create(user=s, rating=Decimal("4.50"), rating_count=2)
        ProductFactory(seller=s)

    with django_assert_max_num_queries(6):
        response = api_client.get("/api/v1/products/")

    assert {r["seller"]["rating"] for r in response.json()["results"]} == {4.5}


def test_stream_hosts_and_conversation_partners_carry_the_rating(auth_client, api_client, buyer, seller):
    from tests.messaging.factories import ConversationFactory
    from tests.streams.factories import StreamFactory

    UserStats.objects.create(user=seller, rating=Decimal("4.25"), rating_count=4)
    ConversationFactory(buyer=buyer, seller=seller, product=ProductFactory(seller=seller))
    StreamFactory(user=seller, status="live")

    conversations = auth_client(buyer).get("/api/v1/conversations/").json()["results"]
    streams = api_client.get("/api/v1/streams/").json()["results"]

    assert conversations[0]["other_user"]["rating"] == 4.25
    assert conversations[0]["other_user"]["rating_count"] == 4
    assert [(s["seller"]["rating"], s["seller"]["rating_count"]) for s in streams] == [(4.25, 4)]
