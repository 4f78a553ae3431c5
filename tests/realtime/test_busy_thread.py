"""A socket is answered while its process's database thread is busy: frames that need no
database (a ping, a bid under the lot's floor) do not queue behind other sockets' queries."""

from __future__ import annotations

import asyncio
import threading

import pytest

from realtime.tickets import ticket_issue
from tests.realtime.conftest import Socket, run, to_async

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ping_is_answered_while_the_database_thread_is_busy(buyer):
    ticket = ticket_issue(user=buyer).ticket
    release = threading.Event()

    def slow_query() -> None:  # another socket's batch holding the shared database thread
        release.wait(5)

    async def scenario() -> tuple[dict, bool]:
        sock = await Socket(ticket).open()
        busy = asyncio.ensure_future(to_async(slow_query)())
        await asyncio.sleep(0.05)
        await sock.send(type="ping")
        pong = await sock.recv(timeout=1)  # the thread is still busy: answered without it
        still_busy = not busy.done()
        release.set()
        await busy
        await sock.close()
        return pong, still_busy

    pong, still_busy = run(scenario)
    assert pong == {"type": "pong"} and still_busy


def test_a_socket_bid_while_the_database_is_away_is_refused_and_the_socket_stays(buyer, live_stream, monkeypatch):
    """The lot's batch fails at the database (PostgreSQL restarting): the bid is answered with
    ``service_unavailable`` and its ``ref``, nothing is taken, and the same socket bids again
    once the database is back."""
    from django.db import OperationalError

    from auctions import services as auction_services
    from auctions.models import Bid
    from auctions.services import create_lot, start_lot
    from tests.factories import ProductFactory

    product = ProductFactory(seller=live_stream.user)
    lot = create_lot(
        host=live_stream.user, stream_id=live_stream.pk, product_id=product.pk, starting_price=50, duration_seconds=60
    )
    start_lot(host=live_stream.user, auction_id=lot.pk)
    ticket = ticket_issue(user=buyer).ticket
    real_place_bids = auction_services.place_bids

    def database_away(**_kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    async def scenario() -> tuple[dict, dict]:
        sock = await Socket(ticket).open()
        monkeypatch.setattr(auction_services, "place_bids", database_away)
        await sock.send(type="auction.bid", auction_id=str(lot.pk), amount="50", ref="b1")
        refused = await sock.recv_type("error")
        monkeypatch.setattr(auction_services, "place_bids", real_place_bids)
        await sock.send(type="auction.bid", auction_id=str(lot.pk), amount="50", ref="b2")
        accepted = await sock.recv_type("auction.bid.accepted")
        await sock.close()
        return refused, accepted

    refused, accepted = run(scenario)
    assert (refused["code"], refused["ref"]) == ("service_unavailable", "b1")
    assert "closed the connection" not in refused["detail"]  # no internals to the client
    assert (accepted["ref"], accepted["accepted_amount"]) == ("b2", "50.00")
    assert list(Bid.objects.filter(auction=lot).values_list("amount", flat=True)) == [50]


def test_a_sockets_bidder_check_rides_with_its_batch_and_is_remembered(buyer, live_stream, monkeypatch, settings):
    """Who may bid is asked in the bid's own batch (no trip of its own to the database thread),
    once per lot per AUCTION_BIDDER_CHECK_SECONDS while it passes, and again on every bid while
    it refuses (an unverified phone is told ``bidder_not_allowed`` each time)."""
    from auctions import services as auction_services
    from auctions.models import Bid
    from auctions.services import create_lot, start_lot
    from tests.factories import ProductFactory, UserFactory

    settings.AUCTION_BIDDER_CHECK_SECONDS = 60
    product = ProductFactory(seller=live_stream.user)
    lot = create_lot(
        host=live_stream.user, stream_id=live_stream.pk, product_id=product.pk, starting_price=50, duration_seconds=60
    )
    start_lot(host=live_stream.user, auction_id=lot.pk)
    unverified = UserFactory(is_verified=False)
    tickets = [ticket_issue(user=user).ticket for user in (buyer, unverified)]
    checks: list[str] = []
    real_refusals = auction_services._bidder_refusals

    def counted(auction_id, bids):
        checks.extend(bid.bidder.username for bid in bids if bid.check_bidder)
        return real_refusals(auction_id, bids)

    monkeypatch.setattr(auction_services, "_bidder_refusals", counted)
    monkeypatch.setattr(auction_services, "bidder_check", lambda **kw: pytest.fail("a trip of its own"))

    async def scenario() -> list[dict]:
        sock, other = await Socket(tickets[0]).open(), await Socket(tickets[1]).open()
        frames = []
        for ref, bid in (("b1", {"amount": "50"}), ("b2", {"max_amount": "80"})):  # b2: the leader's ceiling
            await sock.send(type="auction.bid", auction_id=str(lot.pk), ref=ref, **bid)
            frames.append(await sock.recv_type("auction.bid.accepted"))
        for ref in ("u1", "u2"):
            await other.send(type="auction.bid", auction_id=str(lot.pk), amount="500", ref=ref)
            frames.append(await other.recv_type("error"))
        await sock.close()
        await other.close()
        return frames

    first, second, refused, again = run(scenario)
    assert (first["ref"], second["ref"]) == ("b1", "b2")
    assert [(f["code"], f["ref"]) for f in (refused, again)] == [
        ("bidder_not_allowed", "u1"),
        ("bidder_not_allowed", "u2"),
    ]
    # asked once for the one who passed (remembered for b2), on each bid for the one refused
    assert checks == [buyer.username, unverified.username, unverified.username]
    assert list(Bid.objects.filter(auction=lot).values_list("amount", flat=True)) == [50]
    lot.refresh_from_db()
    assert (lot.leader, lot.leader_max) == (buyer, 80)
