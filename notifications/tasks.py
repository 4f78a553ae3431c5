"""Notifications' tasks: deliveries, the outbox flush, the go-live fan-out, expiring offers."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Follow
from accounts.selectors import blocked_among
from catalog.selectors import product_likers_page, product_price_drop_facts
from messaging.selectors import offers_expiring_between
from notifications import services
from notifications.models import Kind

logger = logging.getLogger(__name__)

EXPIRING_WINDOW = timedelta(hours=2)


@shared_task(name="notifications.tasks.deliver")
def deliver(delivery_id: str) -> str:
    """Send one delivery. A failure is retried with back-off (scheduled here on a worker;
    ``flush_outbox`` picks it up too), then dead-lettered."""
    attempt = services.delivery_attempt(delivery_id=delivery_id)
    if attempt.retry_at is not None and not deliver.request.is_eager:
        deliver.apply_async(args=[delivery_id], eta=attempt.retry_at)
    return attempt.outcome


@shared_task(name="notifications.tasks.flush_outbox")
def flush_outbox() -> int:
    """Enqueue pending deliveries whose task was lost or whose wait is over (every 30 s)."""
    due = services.outbox_due()
    services.enqueue_deliveries(due)
    return len(due)


@shared_task(name="notifications.tasks.fan_out_followed_live")
def fan_out_followed_live(stream_id: str, host_id: str, host_name: str, title: str) -> int:
    """A followed seller went live: one task per ``NOTIFY_FANOUT_BATCH`` followers (keyset over
    the follow rows), so 50,000 followers never hold one task, a request or the database."""
    batch = settings.NOTIFY_FANOUT_BATCH
    after: Any = None
    batches = 0
    while True:
        qs = Follow.objects.filter(following_id=uuid.UUID(host_id)).order_by("pk")
        if after is not None:
            qs = qs.filter(pk__gt=after)
        rows = list(qs.values_list("pk", "follower_id")[:batch])
        if not rows:
            return batches
        after = rows[-1][0]
        notify_followers.delay([str(follower) for _pk, follower in rows], stream_id, host_name, title)
        batches += 1


@shared_task(name="notifications.tasks.notify_followers")
def notify_followers(user_ids: list[str], stream_id: str, host_name: str, title: str) -> int:
    from notifications.sink import followed_live_data, followed_live_texts

    return len(
        services.notify_users(
            user_ids=user_ids,
            kind=Kind.FOLLOWED_LIVE,
            texts=followed_live_texts(host_name, title),
            data=followed_live_data(stream_id),
            dedupe_key=f"live:{stream_id}",
        )
    )


@shared_task(name="notifications.tasks.offers_expiring_soon")
def offers_expiring_soon() -> int:
    """Whoever must answer an offer hears it expires within two hours, once per offer."""
    now = timezone.now()
    offers = offers_expiring_between(start=now, end=now + EXPIRING_WINDOW)
    for offer in offers:

        def texts(title: str = offer["product_title"]) -> tuple[str, str]:
            return _("Offer expiring soon"), _("An offer on %(title)s expires in under two hours.") % {"title": title}

        services.notify_users(
            user_ids=[offer["answerer_id"]],
            kind=Kind.OFFER_EXPIRING,
            texts=texts,
            data={"offer_id": offer["offer_id"], "conversation_id": offer["conversation_id"]},
            dedupe_key=f"expiring:{offer['offer_id']}",
        )
    return len(offers)


@shared_task(name="notifications.tasks.fan_out_price_drop")
def fan_out_price_drop(product_id: str, old_price: str) -> int:
    """A listing's price dropped: one task per ``NOTIFY_FANOUT_BATCH`` people who liked it
    (keyset over the like rows). A listing sold or removed meanwhile tells nobody."""
    if product_price_drop_facts(product_id=product_id) is None:
        return 0
    after: Any = None
    batches = 0
    while True:
        rows = product_likers_page(product_id=product_id, after=after, limit=settings.NOTIFY_FANOUT_BATCH)
        if not rows:
            return batches
        after = rows[-1][0]
        notify_price_drop.delay([str(user_id) for _pk, user_id in rows], product_id, old_price)
        batches += 1


@shared_task(name="notifications.tasks.notify_price_drop")
def notify_price_drop(user_ids: list[str], product_id: str, old_price: str) -> int:
    """One batch of a price drop: the listing as it is now (still for sale, its price now),
    never its seller nor anyone in a block with them; once per listing per person per (Dubai)
    day."""
    from notifications.sink import price_drop_texts

    facts = product_price_drop_facts(product_id=product_id)
    if facts is None:
        return 0
    seller_id = facts["seller_id"]
    # Nobody in a block with the seller, either way (as saved-search alerts): who blocked them
    # does not want to hear of them, and whom they blocked they do not want back.
    partners = {str(pk) for pk in blocked_among(user_id=seller_id, others=user_ids)}
    recipients = [uid for uid in user_ids if uid not in partners and uid != str(seller_id)]
    return len(
        services.notify_users(
            user_ids=recipients,
            kind=Kind.PRICE_DROP,
            texts=price_drop_texts(facts["title"], old_price, f"{facts['price']:.2f}"),
            data={"product_id": str(product_id), "price": f"{facts['price']:.2f}"},
            dedupe_key=f"price_drop:{product_id}:{timezone.localdate().isoformat()}",
        )
    )


@shared_task(name="notifications.tasks.notify_saved_search_alerts")
def notify_saved_search_alerts(alerts: list[dict[str, Any]]) -> int:
    """A batch of saved-search alerts from one percolator run: each owner hears the count and
    the first few titles, once per (search, run)."""
    from notifications.sink import saved_search_texts

    sent = 0
    for alert in alerts:
        sent += bool(
            services.notify_users(
                user_ids=[alert["user_id"]],
                kind=Kind.SAVED_SEARCH,
                texts=saved_search_texts(alert.get("name") or "", int(alert["count"]), list(alert["titles"])),
                data={
                    "saved_search_id": alert["saved_search_id"],
                    "count": alert["count"],
                    "product_ids": alert.get("product_ids") or [],
                },
                dedupe_key=f"saved_search:{alert['saved_search_id']}:{alert['alerted_at']}",
            )
        )
    return sent
