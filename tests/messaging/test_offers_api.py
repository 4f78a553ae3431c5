"""Offers: creation rules, the state machine move by move and party by party, expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Block
from messaging.models import Conversation, Message, Offer, OfferStatus
from notifications.models import Notification
from tests.factories import ProductFactory, UserFactory
from tests.messaging.factories import ConversationFactory, OfferFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/offers/"


def make_offer(client, product, price="120.00", **extra):
    return client.post(URL, {"product_id": str(product.pk), "offered_price": price, **extra}, format="json")


def move(client, offer, name, **body):
    return client.post(f"{URL}{offer.pk}/{name}/", body, format="json")


# --- creating -------------------------------------------------------------------------------


def test_a_buyer_makes_an_offer_which_lands_in_the_conversation(
    buyer_client, seller_client, product, buyer, seller, django_capture_on_commit_callbacks
):
    # when Layla offers AED 120 with a note
    with django_capture_on_commit_callbacks(execute=True):
        response = make_offer(buyer_client, product, "120.00", message="Cash, today?")

    # then it is pending for 48 hours, in a conversation with Omar
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["offered_price"] == "120.00"
    assert body["original_price"] == "149.00"
    assert body["currency"] == "AED"
    assert body["buyer"]["username"] == buyer.username
    assert body["seller"]["username"] == seller.username
    expires_at = parse_datetime(body["expires_at"])
    assert abs(expires_at - (timezone.now() + timedelta(hours=48))) < timedelta(minutes=1)
    # and Omar has an `offer` message carrying the offer, one unread, and a push
    conversation = Conversation.objects.get(pk=body["conversation_id"])
    message = Message.objects.get(conversation=conversation)
    assert message.message_type == "offer"
    assert message.content == "Cash, today?"
    assert message.offer_data["offer_id"] == body["id"]
    assert message.offer_data["event"] == "created"
    assert message.offer_data["offered_price"] == "120.00"
    his = seller_client.get("/api/v1/conversations/").json()["results"][0]
    assert his["unread_count"] == 1
    assert [(n.user_id, n.kind) for n in Notification.objects.all()] == [(seller.pk, "offer")]


def test_offer_ttl_comes_from_settings(buyer_client, product, settings):
    settings.OFFER_TTL_HOURS = 2

    body = make_offer(buyer_client, product).json()

    assert abs(parse_datetime(body["expires_at"]) - (timezone.now() + timedelta(hours=2))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("price", "status_code"),
    [("0.00", 400), ("-5.00", 400), ("1.99", 400), ("2.00", 201), ("1489.99", 201), ("1490.00", 400), ("9999.00", 400)],
)
def test_price_must_be_from_2_aed_to_below_ten_times_the_list_price(buyer_client, product, price, status_code):
    response = make_offer(buyer_client, product, price)

    assert response.status_code == status_code
    if status_code == 400:
        assert response.json()["errors"][0]["attr"] == "offered_price"


def test_more_than_two_decimals_is_400(buyer_client, product):
    assert make_offer(buyer_client, product, "12.345").status_code == 400


def test_one_open_offer_per_buyer_per_listing(buyer_client, product):
    first = make_offer(buyer_client, product, "100.00")

    second = make_offer(buyer_client, product, "110.00")

    assert second.status_code == 409
    assert second.json()["errors"][0]["code"] == "offer_already_open"
    # after withdrawing she may offer again
    move(buyer_client, Offer.objects.get(pk=first.json()["id"]), "withdraw")
    assert make_offer(buyer_client, product, "110.00").status_code == 201


def test_sold_listings_take_no_new_offers(buyer_client, product):
    product.is_available = False
    product.sold_at = timezone.now()
    product.save()

    response = make_offer(buyer_client, product)

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_sold"


def test_deleted_listings_are_404(buyer_client, product):
    product.deleted_at = timezone.now()
    product.save()

    assert make_offer(buyer_client, product).status_code == 404


def test_no_offer_on_my_own_listing(seller_client, product):
    response = make_offer(seller_client, product)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "own_product"


def test_a_blocked_buyer_cannot_make_offers_404_as_if_absent(buyer_client, product, buyer, seller):
    Block.objects.create(blocker=seller, blocked=buyer)

    response = make_offer(buyer_client, product)

    assert response.status_code == 404
    assert not Offer.objects.exists()


def test_blocking_the_other_way_round_does_not_stop_me(buyer_client, product, buyer, seller):
    """Only the blocker is shielded; Layla blocking Omar does not hide his listing from her."""
    Block.objects.create(blocker=buyer, blocked=seller)

    response = make_offer(buyer_client, product)

    assert response.status_code == 201
    assert Offer.objects.get(pk=response.json()["id"]).status == OfferStatus.PENDING


# --- the state machine, move by move and party by party ---------------------------------------

LEGAL = {
    ("pending", "accept", "seller"): "accepted",
    ("pending", "decline", "seller"): "declined",
    ("pending", "counter", "seller"): "countered",
    ("pending", "withdraw", "buyer"): "withdrawn",
    ("countered", "accept", "buyer"): "accepted",
    ("countered", "decline", "buyer"): "declined",
}
WRONG_PARTY = {
    ("pending", "accept", "buyer"): "not_offer_seller",
    ("pending", "decline", "buyer"): "not_offer_seller",
    ("pending", "counter", "buyer"): "not_offer_seller",
    ("pending", "withdraw", "seller"): "not_offer_buyer",
    ("countered", "accept", "seller"): "not_offer_buyer",
    ("countered", "decline", "seller"): "not_offer_buyer",
}
STATES = ["pending", "countered", "accepted", "declined", "expired", "withdrawn"]
MOVES = ["accept", "decline", "counter", "withdraw"]


def conflict_code(state: str, move_name: str) -> str:
    if state == "expired":
        return "offer_expired"
    return "offer_not_pending" if move_name in ("counter", "withdraw") else "offer_not_open"


def offer_in(state: str, product, buyer) -> Offer:
    conversation = ConversationFactory(product=product, buyer=buyer)
    return OfferFactory(
        conversation=conversation,
        status=state,
        counter_price=Decimal("140.00") if state in ("countered", "accepted") else None,
    )


@pytest.mark.parametrize("party", ["buyer", "seller"])
@pytest.mark.parametrize("move_name", MOVES)
@pytest.mark.parametrize("state", STATES)
def test_every_move_by_each_party_from_each_state(request, product, buyer, auth_client, state, move_name, party):
    # given an offer in `state`
    offer = offer_in(state, product, buyer)
    client = auth_client(request.getfixturevalue(party))
    messages_before = Message.objects.count()

    # when `party` tries `move_name`
    response = move(client, offer, move_name, **({"counter_price": "145.00"} if move_name == "counter" else {}))

    # then exactly the contract's moves succeed and leave a message in the conversation
    offer.refresh_from_db()
    key = (state, move_name, party)
    if key in LEGAL:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == LEGAL[key]
        assert offer.status == LEGAL[key]
        assert offer.responded_at is not None
        last = Message.objects.filter(conversation=offer.conversation).latest("created_at")
        assert last.offer_data["offer_id"] == str(offer.pk)
        assert last.offer_data["status"] == LEGAL[key]
        assert last.message_type in ("offer", "system")
    elif key in WRONG_PARTY:
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == WRONG_PARTY[key]
        assert offer.status == state
        assert Message.objects.count() == messages_before
    else:
        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == conflict_code(state, move_name)
        assert offer.status == state
        assert Message.objects.count() == messages_before


@pytest.mark.parametrize("move_name", MOVES)
def test_a_stranger_gets_404_for_every_move_and_read(auth_client, product, buyer, move_name):
    offer = offer_in("pending", product, buyer)
    stranger = auth_client(UserFactory())

    assert move(stranger, offer, move_name, counter_price="140.00").status_code == 404
    assert stranger.get(f"{URL}{offer.pk}/").status_code == 404
    assert Offer.objects.get(pk=offer.pk).status == "pending"


def test_counter_then_the_buyer_accepts_at_the_counter_price(buyer_client, seller_client, product):
    offer = Offer.objects.get(pk=make_offer(buyer_client, product, "100.00").json()["id"])

    countered = move(seller_client, offer, "counter", counter_price="130.00")
    accepted = move(buyer_client, offer, "accept")

    assert countered.status_code == 200
    assert countered.json()["counter_price"] == "130.00"
    assert countered.json()["agreed_price"] is None
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["agreed_price"] == "130.00"
    events = [m.offer_data["event"] for m in Message.objects.filter(offer_data__isnull=False).order_by("created_at")]
    assert events == ["created", "countered", "accepted"]


@pytest.mark.parametrize(("counter", "code"), [("100.00", "counter_not_above_offer"), ("1490.00", None)])
def test_counter_price_must_beat_the_offer_and_stay_in_range(buyer_client, seller_client, product, counter, code):
    offer = Offer.objects.get(pk=make_offer(buyer_client, product, "100.00").json()["id"])

    response = move(seller_client, offer, "counter", counter_price=counter)

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "counter_price"
    if code:
        assert response.json()["errors"][0]["code"] == code
    assert Offer.objects.get(pk=offer.pk).status == "pending"


def test_counter_needs_a_price(buyer_client, seller_client, product):
    offer = Offer.objects.get(pk=make_offer(buyer_client, product).json()["id"])

    response = move(seller_client, offer, "counter")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "counter_price"


def test_accepting_declines_every_other_open_offer_and_tells_those_buyers(
    auth_client, buyer_client, seller_client, product, django_capture_on_commit_callbacks
):
    # given three buyers with open offers, one of them countered
    others = [UserFactory(), UserFactory()]
    mine = Offer.objects.get(pk=make_offer(buyer_client, product, "120.00").json()["id"])
    theirs = [Offer.objects.get(pk=make_offer(auth_client(u), product, "110.00").json()["id"]) for u in others]
    move(seller_client, theirs[1], "counter", counter_price="140.00")

    # when Omar accepts Layla's
    with django_capture_on_commit_callbacks(execute=True):
        response = move(seller_client, mine, "accept")

    # then the others are declined, each told in their own conversation
    assert response.status_code == 200
    assert {o.status for o in Offer.objects.filter(pk__in=[t.pk for t in theirs])} == {"declined"}
    for offer in theirs:
        last = Message.objects.filter(conversation=offer.conversation).latest("created_at")
        assert last.message_type == "system"
        assert last.offer_data["event"] == "declined"
    told = set(Notification.objects.values_list("user_id", flat=True))
    assert {u.pk for u in others} <= told
    # and no one can make a new offer while the accepted one stands
    late = make_offer(auth_client(UserFactory()), product)
    assert late.status_code == 409
    assert late.json()["errors"][0]["code"] == "offer_already_accepted"


def test_accepting_on_a_listing_sold_meanwhile_is_409(buyer_client, seller_client, product):
    offer = Offer.objects.get(pk=make_offer(buyer_client, product).json()["id"])
    product.is_available = False
    product.save()

    response = move(seller_client, offer, "accept")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_sold"


def test_conflicts_come_in_arabic(buyer_client, seller_client, product):
    offer = Offer.objects.get(pk=make_offer(buyer_client, product).json()["id"])
    move(seller_client, offer, "decline")

    response = buyer_client.post(f"{URL}{offer.pk}/withdraw/", HTTP_ACCEPT_LANGUAGE="ar")

    assert response.status_code == 409
    assert response.json()["errors"][0]["detail"] == "لم يعد هذا العرض قيد الانتظار."


# --- listing ------------------------------------------------------------------------------------


def test_list_filters_by_role_and_status(auth_client, buyer, seller, product):
    # given Layla made one offer (pending) and, as a seller too, received one she declined
    layla_listing = ProductFactory(seller=buyer)
    made = offer_in("pending", product, buyer)
    received = OfferFactory(conversation=ConversationFactory(product=layla_listing, buyer=seller), status="declined")
    OfferFactory()  # someone else's
    client = auth_client(buyer)

    def ids(query: str) -> list[str]:
        response = client.get(f"{URL}{query}")
        assert response.status_code == 200
        return [o["id"] for o in response.json()["results"]]

    assert set(ids("")) == {str(made.pk), str(received.pk)}
    assert ids("?role=buyer") == [str(made.pk)]
    assert ids("?role=seller") == [str(received.pk)]
    assert ids("?status=declined") == [str(received.pk)]
    assert ids("?role=buyer&status=declined") == []
    assert client.get(f"{URL}?role=admin").status_code == 400
    assert client.get(f"{URL}?status=haggling").status_code == 400


@pytest.mark.parametrize("page_size", [5, 50])
def test_offer_list_runs_constant_queries(auth_client, seller, page_size, django_assert_max_num_queries):
    for _ in range(55):
        OfferFactory(conversation=ConversationFactory(product=ProductFactory(seller=seller)))

    with django_assert_max_num_queries(3):
        response = auth_client(seller).get(f"{URL}?role=seller&page_size={page_size}")

    assert len(response.json()["results"]) == page_size


# --- expiry -------------------------------------------------------------------------------------


def test_an_offer_past_its_time_reads_as_expired_and_filters_as_expired(auth_client, buyer, product):
    offer_id = make_offer(auth_client(buyer), product).json()["id"]

    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        buyer_client = auth_client(buyer)  # a fresh access token in the future
        detail = buyer_client.get(f"{URL}{offer_id}/").json()
        expired_ids = [o["id"] for o in buyer_client.get(f"{URL}?status=expired").json()["results"]]
        pending_ids = [o["id"] for o in buyer_client.get(f"{URL}?status=pending").json()["results"]]

    assert detail["status"] == "expired"
    assert expired_ids == [offer_id]
    assert pending_ids == []


def test_a_move_on_an_expired_offer_is_409_and_the_expiry_sticks(buyer_client, auth_client, seller, product):
    offer = Offer.objects.get(pk=make_offer(buyer_client, product).json()["id"])

    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        response = move(auth_client(seller), offer, "accept")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "offer_expired"
    offer.refresh_from_db()
    assert offer.status == "expired"
    last = Message.objects.filter(conversation=offer.conversation).latest("created_at")
    assert (last.message_type, last.offer_data["event"]) == ("system", "expired")


def test_an_expired_offer_does_not_block_a_new_one(auth_client, buyer, product):
    make_offer(auth_client(buyer), product, "100.00")

    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        response = make_offer(auth_client(buyer), product, "105.00")

    assert response.status_code == 201
    assert sorted(Offer.objects.values_list("status", flat=True)) == ["expired", "pending"]


def test_expire_offers_command_expires_due_offers_once(buyer_client, auth_client, product):
    # given two offers made now and one made later
    make_offer(buyer_client, product)
    make_offer(auth_client(UserFactory()), product)
    later = timezone.now() + timedelta(hours=10)
    with time_machine.travel(later):
        fresh_id = make_offer(auth_client(UserFactory()), product).json()["id"]

    # when the command runs after 49 hours, twice
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        first, second = StringIO(), StringIO()
        call_command("expire_offers", stdout=first)
        call_command("expire_offers", stdout=second)

    # then the two old offers are expired once each (one system message each), the fresh stays
    assert first.getvalue().strip() == "expired 2 offer(s); 1 open offer(s) remain"
    assert second.getvalue().strip() == "expired 0 offer(s); 1 open offer(s) remain"
    assert Offer.objects.filter(status=OfferStatus.EXPIRED).count() == 2
    assert Offer.objects.get(pk=fresh_id).status == "pending"
    assert Message.objects.filter(offer_data__event="expired").count() == 2
