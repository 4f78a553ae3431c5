"""Domain events (``soukloop.events``, after commit) turned into notifications.

The domain apps say what happened; this module decides who hears of it, in their language:

=====================  ====================================================  =================
event                  who                                                   kind
=====================  ====================================================  =================
message.created        the other participant(s)                              message / offer
checkout.paid          the seller; the buyer (a receipt)                     checkout_paid; receipt
payout.released        the seller                                            payout_released
verification.decided   the person                                            verification
stream.status (live)   every follower of the host, in batched tasks          followed_live
product.price_dropped  who liked it (not the seller, nor anyone in a block  price_drop
                       with them), in batched tasks, once per listing per
                       person a day
saved_search.alerts    each search's owner (the percolator batches them)     saved_search
auction.outbid         the bidder who lost the lead, at most once per lot    outbid
                       per AUCTION_OUTBID_NOTIFY_SECONDS (10)
auction.won            the winner (pay within AUCTION_PAY_MINUTES)           auction_won
transaction.expired    a won lot left unpaid: the host (may offer it to the  auction_unpaid
(source auction)       runner-up) and the winner (it counts as a strike)
auction.voided         staff voided a won lot awaiting payment: the winner    auction_voided
                       (nothing to pay, no strike) and the host
=====================  ====================================================  =================

Offers expiring within two hours are found by a periodic task (``offers_expiring_soon``);
claims, reviews, saved searches and price drops publish their own events as they land.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from notifications.models import Kind
from notifications.push import preview
from notifications.services import notify_users
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.events import Event
from soukloop.presence import is_watching

logger = logging.getLogger(__name__)


def _message_created(event: Event) -> None:
    data = event.data
    offer_event = data.get("offer_event")
    kind = Kind.OFFER if offer_event else Kind.MESSAGE
    sender = data.get("sender_name") or "Souk Loop"
    text = data.get("text") or ""

    def texts() -> tuple[str, str]:
        return sender, preview(text) if text else _("Sent a photo")

    # Someone with the conversation open on a socket sees the message arrive: no push for them.
    channel = f"conversation:{data['conversation_id']}"
    recipients = [uid for uid in data.get("recipient_ids") or [] if not is_watching(channel=channel, user_id=uid)]
    notify_users(
        user_ids=recipients,
        kind=kind,
        texts=texts,
        data={
            key: data.get(key) for key in ("conversation_id", "message_id", "offer_id", "offer_event") if data.get(key)
        },
        dedupe_key=f"message:{data['message_id']}",
    )


def _checkout_paid(event: Event) -> None:
    data = event.data

    def texts() -> tuple[str, str]:
        return (
            _("Sold: %(title)s") % {"title": data.get("product_title", "")},
            _("The buyer paid AED %(amount)s. You are paid once they confirm receipt.") % {"amount": data["amount"]},
        )

    notify_users(
        user_ids=[data["seller_id"]],
        kind=Kind.CHECKOUT_PAID,
        texts=texts,
        data={"transaction_id": data["transaction_id"], "product_id": data.get("product_id")},
        dedupe_key=f"paid:{data['transaction_id']}",
    )

    def receipt() -> tuple[str, str]:
        return (
            _("Receipt: %(title)s") % {"title": data.get("product_title", "")},
            _(
                "You paid AED %(amount)s. Souk Loop holds it until you confirm you received the item; "
                "if something is wrong, tell us before then."
            )
            % {"amount": data["amount"]},
        )

    notify_users(
        user_ids=[data["buyer_id"]],
        kind=Kind.RECEIPT,
        texts=receipt,
        data={"transaction_id": data["transaction_id"], "product_id": data.get("product_id")},
        dedupe_key=f"receipt:{data['transaction_id']}",
    )


def _payout_released(event: Event) -> None:
    data = event.data

    def texts() -> tuple[str, str]:
        return _("Payout released"), _("AED %(amount)s is on its way to your bank account.") % {
            "amount": data["amount"]
        }

    notify_users(
        user_ids=[data["seller_id"]],
        kind=Kind.PAYOUT_RELEASED,
        texts=texts,
        data={"transaction_id": data["transaction_id"]},
        dedupe_key=f"payout:{data['transaction_id']}",
    )


def _verification_decided(event: Event) -> None:
    data = event.data
    approved = data.get("status") == "approved"

    def texts() -> tuple[str, str]:
        if approved:
            return _("You are verified"), _("You can now sell and go live on Souk Loop.")
        return _("Verification not approved"), _("Open the app to see why and submit again.")

    notify_users(
        user_ids=[data["user_id"]],
        kind=Kind.VERIFICATION,
        texts=texts,
        data={"verification_id": data["verification_id"], "status": data.get("status")},
        dedupe_key=f"verification:{data['verification_id']}",
    )


def _stream_status(event: Event) -> None:
    data = event.data
    if data.get("status") != "live" or not data.get("host_id"):
        return
    from notifications.tasks import fan_out_followed_live
    from soukloop.background import enqueue

    enqueue(fan_out_followed_live, data["stream_id"], data["host_id"], data.get("host_name", ""), data.get("title", ""))


def _claim_updated(event: Event) -> None:
    """Each claim step reaches the party it was published for (trust publishes one event per
    party, on their own channel)."""
    data = event.data
    user_id = (event.channel or "").removeprefix("user:")
    status = data.get("status", "")

    def texts() -> tuple[str, str]:
        bodies = {
            "open": _("A buyer protection claim was opened on a sale."),
            "seller_responded": _("The seller answered the claim."),
            "escalated": _("The claim went to Souk Loop's moderators."),
            "decided": _("Souk Loop decided the claim."),
            "resolved": _("The claim was settled with a refund."),
            "withdrawn": _("The buyer withdrew the claim."),
        }
        return _("Claim update"), bodies.get(status, _("The claim changed."))

    notify_users(
        user_ids=[user_id],
        kind=Kind.CLAIM,
        texts=texts,
        data={"claim_id": data["claim_id"], "transaction_id": data.get("transaction_id"), "status": status},
        dedupe_key=f"claim:{data['claim_id']}:{data.get('step', status)}",
    )


def _review_published(event: Event) -> None:
    data = event.data

    def texts() -> tuple[str, str]:
        return _("New review"), _("Someone reviewed you: %(rating)s out of 5.") % {"rating": data.get("rating")}

    notify_users(
        user_ids=[data["reviewee_id"]],
        kind=Kind.REVIEW,
        texts=texts,
        data={"review_id": data["review_id"]},
        dedupe_key=f"review:{data['review_id']}",
    )


def _price_dropped(event: Event) -> None:
    from notifications.tasks import fan_out_price_drop
    from soukloop.background import enqueue

    enqueue(fan_out_price_drop, event.data["product_id"], event.data["old_price"])


def price_drop_texts(title: str, old_price: str, new_price: str) -> Callable[[], tuple[str, str]]:
    def texts() -> tuple[str, str]:
        return _("Price drop: %(title)s") % {"title": title}, _(
            "Now AED %(new)s (was AED %(old)s). It is still available."
        ) % {"new": new_price, "old": old_price}

    return texts


def _saved_search_alerts(event: Event) -> None:
    from notifications.tasks import notify_saved_search_alerts
    from soukloop.background import enqueue

    enqueue(notify_saved_search_alerts, list(event.data.get("alerts") or []))


def saved_search_texts(name: str, count: int, titles: list[str]) -> Callable[[], tuple[str, str]]:
    def texts() -> tuple[str, str]:
        title = (
            _("New for your search “%(name)s”") % {"name": name} if name else _("New listings for your saved search")
        )
        first = ", ".join(titles)
        if count == 1:
            return title, _("1 new listing: %(titles)s") % {"titles": first}
        if count <= len(titles):  # every one named: no "…"
            return title, _("%(count)s new listings: %(titles)s") % {"count": count, "titles": first}
        return title, _("%(count)s new listings: %(titles)s…") % {"count": count, "titles": first}

    return texts


# Outbid windows this process knows to be claimed (cache key → wall-clock end): on a busy lot
# the same bidders are outbid again and again within their window, and asking the cache each
# time was a third of a socket process's database thread (bench/auctions.py, profiled). A
# window is remembered only until the end the cache gave it, so it never outlives the claim.
_claimed_windows: dict[str, float] = {}
_CLAIMED_WINDOWS_MAX = 50_000


def _remember_window(key: str, until: float, now: float) -> None:
    if len(_claimed_windows) >= _CLAIMED_WINDOWS_MAX:
        for stale in [k for k, end in list(_claimed_windows.items()) if end <= now]:
            _claimed_windows.pop(stale, None)
        if len(_claimed_windows) >= _CLAIMED_WINDOWS_MAX:
            _claimed_windows.clear()
    _claimed_windows[key] = until


def _outbid_window_keys(batch: list[Event]) -> list[str | None]:
    """Per event, its notice's dedupe key, or None when the notice is dropped: one ``outbid``
    per lot per bidder per AUCTION_OUTBID_NOTIFY_SECONDS. The first outbid of a window claims
    it in the shared cache (Redis ``SET NX``) and gets a key of its own (the new price: a
    replayed event is one notification); later ones in that window are dropped, those this
    process knows of without asking the cache again. The batch's claims go in one round trip:
    a busy lot's bidders' windows open together and run out together. With the cache down the
    window is a fixed clock bucket of the dedupe key."""
    seconds = max(1, settings.AUCTION_OUTBID_NOTIFY_SECONDS)
    now = time.time()
    keys: list[str | None] = []
    asking: dict[str, None] = {}
    for event in batch:
        window = f"notif:outbid:{event.data['auction_id']}:{event.data['user_id']}"
        if _claimed_windows.get(window, 0.0) > now:
            keys.append(None)
        else:
            keys.append(window)
            asking[window] = None
    try:
        claims = _claim_windows(list(asking), seconds) if asking else {}
    except CACHE_UNAVAILABLE:
        return [
            None if key is None else f"outbid:{event.data['auction_id']}:window:{int(event.at.timestamp()) // seconds}"
            for key, event in zip(keys, batch, strict=True)
        ]
    dedupe: list[str | None] = []
    for key, event in zip(keys, batch, strict=True):
        left = claims.pop(key, None) if key is not None else None
        if key is None or left is None:  # remembered, or a second event of the batch for the bidder
            dedupe.append(None)
        elif left == 0:  # claimed here
            _remember_window(key, now + seconds, now)
            dedupe.append(f"outbid:{event.data['auction_id']}:{event.data['amount']}")
        else:  # claimed elsewhere: remember it for what is left of that window, where known
            if left > 0:
                _remember_window(key, now + min(left, seconds), now)
            dedupe.append(None)
    return dedupe


def _claim_windows(keys: list[str], seconds: int) -> dict[str, int]:
    """Try to claim each key for ``seconds``: per key 0 when claimed here, else the seconds left
    of the window claimed elsewhere (-1 when the cache cannot say). On Redis one pipeline of
    ``SET NX EX`` and ``TTL``; elsewhere ``cache.add`` per key."""
    if not keys:
        return {}
    if settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        from django_redis import get_redis_connection

        pipe = get_redis_connection("default").pipeline(transaction=False)
        for key in keys:
            full = cache.make_key(key)
            pipe.set(full, 1, nx=True, ex=seconds)
            pipe.ttl(full)
        replies = pipe.execute()
        return {
            key: 0 if claimed else (ttl if isinstance(ttl, int) and ttl > 0 else -1)
            for key, claimed, ttl in zip(keys, replies[0::2], replies[1::2], strict=True)
        }
    claims = {}
    for key in keys:
        if cache.add(key, 1, timeout=seconds):
            claims[key] = 0
        else:
            ttl = cache.ttl(key) if hasattr(cache, "ttl") else None
            claims[key] = ttl if isinstance(ttl, int) and ttl > 0 else -1
    return claims


def _auction_outbid(event: Event) -> None:
    _outbid_many([event])


def _outbid_many(batch: list[Event]) -> None:
    """``outbid`` to each bidder of ``batch`` whose window this claims; the notices of one lot at
    one price (a batch of bids tells everyone it outbid the price it left) are written with
    one ``notify_users``. When two hundred bidders' windows run out together, that is one
    write, not two hundred on the database thread of a socket process."""
    groups: dict[tuple[str, str, str], list[Event]] = {}
    for event, dedupe_key in zip(batch, _outbid_window_keys(batch), strict=True):
        if dedupe_key is not None:
            groups.setdefault((str(event.data["auction_id"]), str(event.data["amount"]), dedupe_key), []).append(event)
    for (_auction_id, _amount, dedupe_key), events in groups.items():
        data = events[0].data

        def texts(amount: str = data["amount"]) -> tuple[str, str]:
            return _("You were outbid"), _("The bid is now AED %(amount)s. Bid again before the lot closes.") % {
                "amount": amount
            }

        notify_users(
            user_ids=[event.data["user_id"] for event in events],
            kind=Kind.OUTBID,
            texts=texts,
            data={"auction_id": data["auction_id"], "stream_id": data.get("stream_id"), "amount": data["amount"]},
            dedupe_key=dedupe_key,
        )


def _auction_won(event: Event) -> None:
    data = event.data

    def texts() -> tuple[str, str]:
        return _("You won: %(title)s") % {"title": data.get("product_title", "")}, _(
            "Pay AED %(amount)s within %(minutes)s minutes to get it."
        ) % {"amount": data["amount"], "minutes": settings.AUCTION_PAY_MINUTES}

    notify_users(
        user_ids=[data["user_id"]],
        kind=Kind.AUCTION_WON,
        texts=texts,
        data={
            "auction_id": data["auction_id"],
            "transaction_id": data["transaction_id"],
            "amount": data["amount"],
            "pay_by": data.get("pay_by"),
        },
        dedupe_key=f"won:{data['auction_id']}",
    )


def _sale_expired(event: Event) -> None:
    data = event.data
    if data.get("source") != "auction":
        return
    title = data.get("product_title", "")

    def host_texts() -> tuple[str, str]:
        return _("The winner did not pay"), _(
            "The time to pay for %(title)s ran out. You can offer it to the runner-up from the lot."
        ) % {"title": title}

    def winner_texts() -> tuple[str, str]:
        return _("Your time to pay ran out"), _(
            "You did not pay for %(title)s in time. An unpaid lot stops you bidding for a while."
        ) % {"title": title}

    _notify_host_and_winner(
        Kind.AUCTION_UNPAID,
        host=(data["seller_id"], host_texts),
        winner=(data["buyer_id"], winner_texts),
        data={"auction_id": data["source_id"], "transaction_id": data["transaction_id"]},
        dedupe=f"unpaid:{data['transaction_id']}",
    )


def _notify_host_and_winner(
    kind: str,
    *,
    host: tuple[Any, Callable[[], tuple[str, str]]],
    winner: tuple[Any, Callable[[], tuple[str, str]]],
    data: dict[str, Any],
    dedupe: str,
) -> None:
    """A lot's news to its host and its winner, each in their own words, once each."""
    for (user_id, texts), role in ((host, "host"), (winner, "winner")):
        notify_users(user_ids=[user_id], kind=kind, texts=texts, data=data, dedupe_key=f"{dedupe}:{role}")


def _auction_voided(event: Event) -> None:
    data = event.data
    title = data.get("product_title", "")

    def winner_texts() -> tuple[str, str]:
        return _("A lot you won was voided"), _(
            "Our team voided the lot for %(title)s. You owe nothing for it, and it is no strike."
        ) % {"title": title}

    def host_texts() -> tuple[str, str]:
        return _("Your lot was voided"), _(
            "Our team voided the lot for %(title)s; its sale is cancelled and the item is yours to list again."
        ) % {"title": title}

    _notify_host_and_winner(
        Kind.AUCTION_VOIDED,
        host=(data["host_id"], host_texts),
        winner=(data["user_id"], winner_texts),
        data={"auction_id": data["auction_id"], "transaction_id": data["transaction_id"]},
        dedupe=f"voided:{data['auction_id']}",
    )


HANDLERS: dict[str, Callable[[Event], None]] = {
    "auction.outbid": _auction_outbid,
    "auction.won": _auction_won,
    "transaction.expired": _sale_expired,
    "auction.voided": _auction_voided,
    "product.price_dropped": _price_dropped,
    "saved_search.alerts": _saved_search_alerts,
    "claim.updated": _claim_updated,
    "review.published": _review_published,
    "message.created": _message_created,
    "checkout.paid": _checkout_paid,
    "payout.released": _payout_released,
    "verification.decided": _verification_decided,
    "stream.status": _stream_status,
}


def deliver_event(event: Event) -> None:
    """The ``notifications`` sink: called once per committed event."""
    handler = HANDLERS.get(event.type)
    if handler is not None:
        handler(event)


def deliver_events(batch: list[Event]) -> None:
    """The sink for the events of one ``publish_many`` (a lot's batch of bids: its price and
    everyone it outbid): the ``auction.outbid`` notices together (``_outbid_many``), the others
    one by one in order; one that fails is logged and the rest still go."""
    outbid = [event for event in batch if event.type == "auction.outbid"]
    for event in batch:
        if event.type == "auction.outbid":
            continue
        try:
            deliver_event(event)
        except Exception:
            logger.exception("notifications: an event failed", extra={"event_type": event.type})
    if outbid:
        _outbid_many(outbid)


def followed_live_texts(host_name: str, title: str) -> Callable[[], tuple[str, str]]:
    def texts() -> tuple[str, str]:
        return _("%(host)s is live") % {"host": host_name}, title or _("Tap to watch.")

    return texts


def followed_live_data(stream_id: str) -> dict[str, Any]:
    return {"stream_id": stream_id}
