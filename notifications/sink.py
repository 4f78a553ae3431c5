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
product.price_dropped  who liked it (not the seller, nor who blocked them),  price_drop
                       in batched tasks, once per listing per person a day
saved_search.alerts    each search's owner (the percolator batches them)     saved_search
=====================  ====================================================  =================

Offers expiring within two hours are found by a periodic task (``offers_expiring_soon``);
claims, reviews, saved searches and price drops publish their own events as they land.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from notifications.models import Kind
from notifications.push import preview
from notifications.services import notify_users
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
        return title, _("%(count)s new listings: %(titles)s…") % {"count": count, "titles": first}

    return texts


HANDLERS: dict[str, Callable[[Event], None]] = {
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


def followed_live_texts(host_name: str, title: str) -> Callable[[], tuple[str, str]]:
    def texts() -> tuple[str, str]:
        return _("%(host)s is live") % {"host": host_name}, title or _("Tap to watch.")

    return texts


def followed_live_data(stream_id: str) -> dict[str, Any]:
    return {"stream_id": stream_id}
