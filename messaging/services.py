"""Writes for messaging and offers. What leaves the process (pushes, sockets) goes through
``soukloop.events`` after commit; every count and state change is a conditional UPDATE or under a row lock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.fields import DateTimeField, UUIDField
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.selectors import has_blocked
from catalog.holds import product_held_for_someone_else
from catalog.locks import product_locked
from catalog.models import Product
from messaging.locks import offer_for_update
from messaging.models import (
    OPEN_OFFER_STATUSES,
    Conversation,
    Message,
    MessageType,
    Offer,
    OfferStatus,
    Report,
    ReportStatus,
    ReportTargetType,
)
from messaging.selectors import as_uuid
from soukloop import events
from soukloop.errors import Conflict, NotFound, PermissionDenied, ValidationError
from soukloop.storage import is_own_media_url

logger = logging.getLogger(__name__)

MAX_CONTENT_CHARS = 2000
MAX_IMAGES_PER_MESSAGE = 10
MAX_OFFER_MULTIPLE = Decimal(10)
USER_MESSAGE_TYPES = (MessageType.TEXT, MessageType.IMAGE)


def _stored_text(message: str, **params: Any) -> str:  # message marked with gettext_noop()
    """Chat text the platform writes is stored once for both sides, in the default language;
    clients localise from ``offer_data.event``."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(message) % params if params else _(message)


# --- conversations --------------------------------------------------------------------------


def _reachable_product(*, caller: User, product_id: Any) -> Product:
    """A live listing the caller may talk to its seller about. Absent, deleted, or its seller
    has blocked the caller → the same 404, so a block is never revealed."""
    pk = as_uuid(product_id)
    product = Product.objects.filter(pk=pk, deleted_at__isnull=True).select_related("seller").first() if pk else None
    if product is None or has_blocked(blocker=product.seller, blocked=caller):
        raise NotFound(_("Listing not found."), code="product_not_found")
    return product


def conversation_get_or_create(*, buyer: User, product: Product) -> tuple[Conversation, bool]:
    """One conversation per buyer and listing; race-safe (the unique constraint decides)."""
    if product.seller_id == buyer.pk:
        raise ValidationError(
            _("You cannot start a conversation about your own listing."), code="own_product", attr="product_id"
        )
    existing = Conversation.objects.filter(buyer=buyer, product=product).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Conversation.objects.create(buyer=buyer, seller_id=product.seller_id, product=product), True
    except IntegrityError:
        return Conversation.objects.get(buyer=buyer, product=product), False


def conversation_open(*, buyer: User, product_id: Any) -> tuple[Conversation, bool]:
    """``POST /conversations/``: the caller is the buyer, the listing's owner the seller."""
    product = _reachable_product(caller=buyer, product_id=product_id)
    return conversation_get_or_create(buyer=buyer, product=product)


def _other_party_id(conversation: Conversation, user_id: Any) -> Any:
    return conversation.seller_id if user_id == conversation.buyer_id else conversation.buyer_id


def _post(
    *,
    conversation: Conversation,
    sender: User | None,
    message_type: str,
    content: str,
    image_urls: list[str] | None = None,
    offer_data: dict | None = None,
    only_to: Any = None,
) -> Message:
    """Store a message and bump the conversation in one UPDATE (callers hold a transaction).

    The recipient's unread count moves with ``F()`` so concurrent sends never lose a count,
    and ``last_message`` only moves forward in time, whichever send commits last. A system
    message (no sender) reaches both sides. A new message un-archives for its recipients.
    """
    message = Message.objects.create(
        conversation=conversation,
        sender=sender,
        message_type=message_type,
        content=content,
        image_urls=image_urls or [],
        offer_data=offer_data,
    )
    is_newest = Q(last_message_at__isnull=True) | Q(last_message_at__lte=message.created_at)
    updates: dict[str, Any] = {
        "last_message": Case(
            When(is_newest, then=Value(message.pk, output_field=UUIDField())), default=F("last_message")
        ),
        "last_message_at": Case(
            When(is_newest, then=Value(message.created_at, output_field=DateTimeField())), default=F("last_message_at")
        ),
        "updated_at": timezone.now(),
    }
    recipients = []
    # ``only_to``: a system message meant for one participant (an automatic decline).
    if (sender is None or sender.pk == conversation.seller_id) and only_to in (None, conversation.buyer_id):
        updates.update(buyer_unread_count=F("buyer_unread_count") + 1, buyer_archived=False)
        recipients.append(conversation.buyer_id)
    if (sender is None or sender.pk == conversation.buyer_id) and only_to in (None, conversation.seller_id):
        updates.update(seller_unread_count=F("seller_unread_count") + 1, seller_archived=False)
        recipients.append(conversation.seller_id)
    Conversation.objects.filter(pk=conversation.pk).update(**updates)

    data: dict[str, Any] = {
        "conversation_id": str(conversation.pk),
        "message_id": str(message.pk),
        "message_type": message_type,
        "sender_id": str(sender.pk) if sender is not None else None,
        "sender_name": sender.username if sender is not None else "",
        "recipient_ids": [str(user_id) for user_id in recipients],
        "text": content if message_type != MessageType.IMAGE or content else "",
        "created_at": message.created_at.isoformat(),
    }
    if offer_data:
        data.update(offer_id=str(offer_data.get("offer_id", "")), offer_event=str(offer_data.get("event", "")))
    # After commit, to the delivery layers (realtime, notifications); nothing on rollback.
    _publish_message(message=message, conversation=conversation, offer_data=offer_data, notify=data)
    return message


def _publish_message(
    *, message: Message, conversation: Conversation, offer_data: dict | None, notify: dict[str, Any]
) -> None:
    """Events (after commit): the message in its conversation (with who is to be told, for
    notifications), the conversation's new last message on both participants' own channel,
    and an offer move to both sides."""
    conversation_id = str(conversation.pk)
    events.publish(
        "message.created",
        channel=f"conversation:{conversation_id}",
        data={
            "id": str(message.pk),
            "conversation_id": conversation_id,
            "sender_id": str(message.sender_id) if message.sender_id else None,
            "message_type": message.message_type,
            "content": message.content,
            "image_urls": message.image_urls,
            "offer_data": message.offer_data,
            **{key: value for key, value in notify.items() if key != "created_at"},
            "created_at": message.created_at,
        },
    )
    for user_id in (conversation.buyer_id, conversation.seller_id):
        events.publish(
            "conversation.updated",
            channel=f"user:{user_id}",
            data={
                "conversation_id": conversation_id,
                "last_message_id": str(message.pk),
                "last_message_at": message.created_at,
            },
        )
        if offer_data:
            events.publish(
                "offer.updated", channel=f"user:{user_id}", data={**offer_data, "conversation_id": conversation_id}
            )


@transaction.atomic
def message_post_system(
    *,
    conversation: Conversation,
    content: str,
    offer_data: dict | None = None,
    message_type: str = MessageType.SYSTEM,
) -> Message:
    """A message from the platform (payment received, offer accepted...) seen by both sides.

    Bumps both unread counts and the conversation's last message in one UPDATE, and pushes
    to both sides after commit.
    """
    return _post(
        conversation=conversation, sender=None, message_type=message_type, content=content, offer_data=offer_data
    )


@transaction.atomic
def message_send(
    *,
    conversation: Conversation,
    sender: User,
    message_type: str,
    content: str = "",
    image_urls: list[str] | None = None,
) -> Message:
    """A participant's text or image message. A recipient who blocked the sender → 404."""
    if sender.pk not in (conversation.buyer_id, conversation.seller_id):
        raise NotFound(_("Conversation not found."), code="conversation_not_found")
    if has_blocked(blocker=_other_party_id(conversation, sender.pk), blocked=sender):
        raise NotFound(_("Conversation not found."), code="conversation_not_found")
    if message_type not in USER_MESSAGE_TYPES:
        raise ValidationError(_("Send a text or an image message."), code="invalid_choice", attr="message_type")
    content = (content or "").strip()
    image_urls = list(image_urls or [])
    if len(content) > MAX_CONTENT_CHARS:
        raise ValidationError(
            _("A message is at most %(max)d characters.") % {"max": MAX_CONTENT_CHARS},
            code="max_length",
            attr="content",
        )
    if message_type == MessageType.TEXT:
        if not content:
            raise ValidationError(_("A text message cannot be empty."), code="blank", attr="content")
        if image_urls:
            raise ValidationError(
                _("A text message carries no images; send an image message."), code="invalid", attr="image_urls"
            )
    else:
        if not image_urls:
            raise ValidationError(_("An image message needs at least one image."), code="required", attr="image_urls")
        if len(image_urls) > MAX_IMAGES_PER_MESSAGE:
            raise ValidationError(
                _("At most %(max)d images per message.") % {"max": MAX_IMAGES_PER_MESSAGE},
                code="max_length",
                attr="image_urls",
            )
        if not all(is_own_media_url(url) for url in image_urls):
            raise ValidationError(
                _("Images must be uploaded to Souk Loop first (POST /api/v1/media/)."),
                code="foreign_media_url",
                attr="image_urls",
            )
    return _post(
        conversation=conversation, sender=sender, message_type=message_type, content=content, image_urls=image_urls
    )


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, user: User) -> int:
    """The other side's messages become read and my unread count 0; returns how many.

    The conversation row is locked first so a message sent meanwhile is either marked read
    here or counted after: the count never says 0 while an unread message exists.
    """
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    marked = (
        Message.objects.filter(conversation=locked, is_read=False)
        .exclude(sender=user)
        .update(is_read=True, read_at=timezone.now())
    )
    field = "buyer_unread_count" if user.pk == locked.buyer_id else "seller_unread_count"
    Conversation.objects.filter(pk=locked.pk).update(**{field: 0})
    if marked:
        events.publish(
            "message.read",
            channel=f"conversation:{locked.pk}",
            data={"conversation_id": str(locked.pk), "reader_id": str(user.pk), "read_at": timezone.now()},
        )
    return marked


@transaction.atomic
def conversation_set_archived(*, conversation: Conversation, user: User, archived: bool) -> None:
    """Archive or unarchive from the caller's side only."""
    field = "buyer_archived" if user.pk == conversation.buyer_id else "seller_archived"
    Conversation.objects.filter(pk=conversation.pk).update(**{field: archived, "updated_at": timezone.now()})
    events.publish(
        "conversation.updated",
        channel=f"user:{user.pk}",
        data={"conversation_id": str(conversation.pk), "is_archived": archived},
    )


# --- offers ---------------------------------------------------------------------------------


def _offer_data(offer: Offer, event: str) -> dict[str, Any]:
    return {
        "offer_id": str(offer.pk),
        "event": event,
        "status": offer.status,
        "offered_price": f"{offer.offered_price:.2f}",
        "counter_price": f"{offer.counter_price:.2f}" if offer.counter_price is not None else None,
        "currency": offer.currency,
        "expires_at": offer.expires_at.isoformat(),
    }


def _validate_offer_price(*, price: Decimal, product: Product, attr: str) -> None:
    """At least what Stripe can charge (AED 2.00), under ten times the list price and never
    over what Stripe can charge (AED 999,999.99): an accepted offer must be payable."""
    limit = min(product.price * MAX_OFFER_MULTIPLE, settings.PAYMENT_MAX_AMOUNT + Decimal("0.01"))
    if price < settings.PAYMENT_MIN_AMOUNT or price >= limit:
        raise ValidationError(
            _("An offer must be at least AED %(min)s and less than AED %(limit)s (ten times the list price).")
            % {"min": settings.PAYMENT_MIN_AMOUNT, "limit": f"{limit:.2f}"},
            code="offer_price_out_of_range",
            attr=attr,
        )


def _close_open_offers(offers: QuerySet[Offer], *, status: str, content: str, now: datetime, **updates: Any) -> int:
    """Move each still-open offer of ``offers`` to ``status`` with a system message to both
    sides. A conditional UPDATE per offer makes a second run (or a racing one) a no-op."""
    closed = 0
    locked = offers.select_related("conversation").select_for_update(of=("self",)).order_by("created_at", "id")
    for offer in locked:
        if not Offer.objects.filter(pk=offer.pk, status__in=OPEN_OFFER_STATUSES).update(
            status=status, updated_at=now, **updates
        ):
            continue
        offer.status = status
        _post(
            conversation=offer.conversation,
            sender=None,
            message_type=MessageType.SYSTEM,
            content=content,
            offer_data=_offer_data(offer, status),
        )
        closed += 1
    return closed


def _expire_offers(offers: QuerySet[Offer], *, now: datetime | None = None) -> int:
    """Expire the open offers of ``offers`` past their ``expires_at``."""
    now = now or timezone.now()
    due = offers.filter(status__in=OPEN_OFFER_STATUSES, expires_at__lte=now)
    return _close_open_offers(
        due, status=OfferStatus.EXPIRED, content=_stored_text(gettext_noop("Offer expired.")), now=now
    )


def offers_expire_due(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire every open offer past due, in batches of short transactions (``expire_offers``)."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Offer.objects.filter(status__in=OPEN_OFFER_STATUSES, expires_at__lte=now)
                .order_by("expires_at", "id")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            total += _expire_offers(Offer.objects.filter(pk__in=ids), now=now)


def offer_lapse(*, offer: Offer, now: datetime | None = None) -> bool:
    """An accepted offer left unpaid past its hold expires, so the listing takes offers and
    list-price buyers again; both sides are told in the chat. The caller (payments, which
    knows whether a checkout pays for it) holds the product and offer row locks. ``False``
    when the offer was no longer accepted."""
    return _close_accepted(
        offer,
        status=OfferStatus.EXPIRED,
        content=gettext_noop("The accepted offer was not paid in time and has lapsed."),
        now=now or timezone.now(),
    )


def _expire_if_due(offer: Offer) -> None:
    """Lazy expiry on a move: persisted in its own transaction, so it sticks even though the
    move is then refused with 409."""
    if offer.status in OPEN_OFFER_STATUSES and offer.expires_at <= timezone.now():
        with transaction.atomic():
            _expire_offers(Offer.objects.filter(pk=offer.pk))


@transaction.atomic
def offer_create(*, buyer: User, product_id: Any, offered_price: Decimal, message: str = "") -> Offer:
    """A buyer's offer on a live listing: ``pending`` until the seller answers or it expires."""
    product = _reachable_product(caller=buyer, product_id=product_id)
    if product.seller_id == buyer.pk:
        raise ValidationError(_("You cannot make an offer on your own listing."), code="own_product", attr="product_id")
    # The listing row lock orders this against an accept in flight on the same listing.
    product = product_locked(product_id=product.pk)
    if not product.is_available or product.sold_at is not None:
        raise Conflict(_("This listing has been sold."), code="product_sold")
    if not product.is_negotiable:
        raise Conflict(_("The seller has fixed this price: it is not open to offers."), code="price_firm")
    _validate_offer_price(price=offered_price, product=product, attr="offered_price")
    _expire_offers(Offer.objects.filter(product=product, buyer=buyer))
    if Offer.objects.filter(product=product, status=OfferStatus.ACCEPTED).exists():
        raise Conflict(_("The seller has already accepted an offer on this listing."), code="offer_already_accepted")
    _refuse_if_reserved(product=product, buyer_id=buyer.pk)
    if Offer.objects.filter(product=product, buyer=buyer, status__in=OPEN_OFFER_STATUSES).exists():
        raise Conflict(_("You already have an open offer on this listing."), code="offer_already_open")
    conversation, _created = conversation_get_or_create(buyer=buyer, product=product)
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                conversation=conversation,
                product=product,
                buyer=buyer,
                seller_id=product.seller_id,
                offered_price=offered_price,
                original_price=product.price,
                currency=product.currency,
                message=message,
                expires_at=timezone.now() + timedelta(hours=settings.OFFER_TTL_HOURS),
            )
    except IntegrityError:
        raise Conflict(_("You already have an open offer on this listing."), code="offer_already_open") from None
    if product.auto_decline_below is not None and offered_price < product.auto_decline_below:
        return _auto_decline(offer=offer, buyer=buyer)
    _post(
        conversation=conversation,
        sender=buyer,
        message_type=MessageType.OFFER,
        content=message or _stored_text(gettext_noop("Offer: AED %(price)s"), price=f"{offered_price:.2f}"),
        offer_data=_offer_data(offer, "created"),
    )
    return offer


def offer_propose(
    *,
    seller: User,
    buyer: User,
    product_id: Any,
    price: Decimal,
    message: str = "",
    fee_percent: Decimal | None = None,
) -> Offer:
    """The seller offers the listing to one buyer at ``price`` (an auction's second chance): an
    offer already in ``countered`` (the seller's price), which the buyer accepts or declines like
    any counter-offer, then pays with ``offer_id``; ``fee_percent``: the platform's rate for that
    sale when not the listing's. Call it inside a transaction."""
    product = product_locked(product_id=product_id)
    if product.seller_id != seller.pk or product.seller_id == buyer.pk:
        raise ValidationError(_("Offer one of your own listings to someone else."), code="invalid", attr="product_id")
    if not product.is_available or product.sold_at is not None or product.deleted_at is not None:
        raise Conflict(_("This listing has been sold."), code="product_sold")
    if not settings.PAYMENT_MIN_AMOUNT <= price <= settings.PAYMENT_MAX_AMOUNT:
        raise ValidationError(
            _("An offer must be between AED %(min)s and AED %(max)s.")
            % {"min": settings.PAYMENT_MIN_AMOUNT, "max": f"{settings.PAYMENT_MAX_AMOUNT:.2f}"},
            code="offer_price_out_of_range",
            attr="price",
        )
    if Offer.objects.filter(product=product, status=OfferStatus.ACCEPTED).exists():
        raise Conflict(_("The seller has already accepted an offer on this listing."), code="offer_already_accepted")
    _refuse_if_reserved(product=product, buyer_id=buyer.pk)
    now = timezone.now()
    # The buyer's own open offer on it gives way to the seller's (better or equal) one.
    _close_open_offers(
        Offer.objects.filter(product=product, buyer=buyer),
        status=OfferStatus.WITHDRAWN,
        content=gettext_noop("The seller made you an offer instead; your earlier offer is closed."),
        now=now,
    )
    conversation, _created = conversation_get_or_create(buyer=buyer, product=product)
    offer = Offer.objects.create(
        conversation=conversation,
        product=product,
        buyer=buyer,
        seller_id=product.seller_id,
        offered_price=price,
        counter_price=price,
        original_price=product.price,
        currency=product.currency,
        status=OfferStatus.COUNTERED,
        responded_at=now,
        message=message[:500],
        expires_at=now + timedelta(hours=settings.OFFER_TTL_HOURS),
        fee_percent=fee_percent,
    )
    _post(
        conversation=conversation,
        sender=seller,
        message_type=MessageType.OFFER,
        content=message
        or _stored_text(gettext_noop("Second-chance offer from the seller: AED %(price)s"), price=f"{price:.2f}"),
        offer_data=_offer_data(offer, "proposed"),
    )
    return offer


def _auto_decline(*, offer: Offer, buyer: User) -> Offer:
    """An offer under the seller's ``auto_decline_below``: declined at once, with a polite
    system message to the buyer alone (in their language), so the seller is not disturbed."""
    offer.status, offer.responded_at = OfferStatus.DECLINED, timezone.now()
    offer.save(update_fields=["status", "responded_at", "updated_at"])
    with translation.override(buyer.language or settings.LANGUAGE_CODE):
        content = _(
            "Thank you for your offer of AED %(price)s. The seller does not take offers this low, so it was "
            "declined automatically. You are welcome to offer more or buy at the listed price."
        ) % {"price": f"{offer.offered_price:.2f}"}
    _post(
        conversation=offer.conversation,
        sender=None,
        message_type=MessageType.SYSTEM,
        content=content,
        offer_data=_offer_data(offer, "auto_declined"),
        only_to=buyer.pk,
    )
    logger.info("offer declined automatically", extra={"offer_id": str(offer.pk), "product_id": str(offer.product_id)})
    return offer


def _refuse_if_reserved(*, product: Product, buyer_id: Any) -> None:
    """409 while someone else's checkout (or a running auction lot) holds the listing: an offer
    made or accepted then could not be paid for. Accepted offers are answered by the callers
    with their own code. The product row is locked, so the hold cannot change meanwhile."""
    hold = product_held_for_someone_else(product_id=product.pk, buyer_id=buyer_id)
    if hold is not None and hold.kind != "accepted_offer":
        raise Conflict(
            _("Someone else is buying this item right now. Try again in a few minutes."), code="product_reserved"
        )


# Who may make each move from each state; any other state → 409, the other party → 403.
_MOVES: dict[str, dict[str, str]] = {
    "accept": {OfferStatus.PENDING: "seller", OfferStatus.COUNTERED: "buyer"},
    "decline": {OfferStatus.PENDING: "seller", OfferStatus.COUNTERED: "buyer"},
    "counter": {OfferStatus.PENDING: "seller"},
    "withdraw": {OfferStatus.PENDING: "buyer"},
}


def _check_move(*, offer: Offer, by: User, move: str) -> None:
    if by.pk not in (offer.buyer_id, offer.seller_id):
        raise NotFound(_("Offer not found."), code="offer_not_found")
    allowed = _MOVES[move]
    if offer.status == OfferStatus.EXPIRED or (
        offer.status in OPEN_OFFER_STATUSES and offer.expires_at <= timezone.now()
    ):
        raise Conflict(_("This offer has expired."), code="offer_expired")
    if offer.status not in allowed:
        if set(allowed) == {OfferStatus.PENDING}:
            raise Conflict(_("This offer is no longer pending."), code="offer_not_pending")
        raise Conflict(_("This offer is no longer open."), code="offer_not_open")
    if allowed[offer.status] == "seller" and by.pk != offer.seller_id:
        raise PermissionDenied(_("Only the seller can do this."), code="not_offer_seller")
    if allowed[offer.status] == "buyer" and by.pk != offer.buyer_id:
        raise PermissionDenied(_("Only the buyer can do this."), code="not_offer_buyer")


def _lock_offer(offer: Offer) -> Offer:
    return offer_for_update(offer_id=offer.pk)


def _record_move(*, offer: Offer, by: User, event: str, content: str) -> None:
    _post(
        conversation=offer.conversation,
        sender=by,
        message_type=MessageType.OFFER,
        content=content,
        offer_data=_offer_data(offer, event),
    )


def offer_accept(*, offer: Offer, by: User) -> Offer:
    """The seller accepts a pending offer, or the buyer accepts the seller's counter.

    The listing row is locked first, so two devices accepting two offers on one listing at
    once are served one after the other: the first wins, the second finds its offer
    declined (409). The partial unique constraint on accepted offers is the backstop.
    """
    _expire_if_due(offer)
    with transaction.atomic():
        product = product_locked(product_id=offer.product_id)
        offer = _lock_offer(offer)
        _check_move(offer=offer, by=by, move="accept")
        if product.deleted_at is not None or not product.is_available:
            raise Conflict(_("This listing has been sold."), code="product_sold")
        if Offer.objects.filter(product=product, status=OfferStatus.ACCEPTED).exclude(pk=offer.pk).exists():
            raise Conflict(
                _("The seller has already accepted an offer on this listing."), code="offer_already_accepted"
            )
        _refuse_if_reserved(product=product, buyer_id=offer.buyer_id)
        offer.status = OfferStatus.ACCEPTED
        offer.responded_at = timezone.now()
        try:
            with transaction.atomic():
                offer.save(update_fields=["status", "responded_at", "updated_at"])
        except IntegrityError:
            raise Conflict(
                _("The seller has already accepted an offer on this listing."), code="offer_already_accepted"
            ) from None
        _record_move(
            offer=offer,
            by=by,
            event="accepted",
            content=_stored_text(gettext_noop("Offer accepted: AED %(price)s"), price=f"{offer.agreed_price:.2f}"),
        )
        offers_decline_open_for_product(product=product, except_offer=offer)
    return offer


def offer_decline(*, offer: Offer, by: User) -> Offer:
    """The seller declines a pending offer, or the buyer declines the seller's counter."""
    _expire_if_due(offer)
    with transaction.atomic():
        offer = _lock_offer(offer)
        _check_move(offer=offer, by=by, move="decline")
        event = "counter_declined" if offer.status == OfferStatus.COUNTERED else "declined"
        offer.status = OfferStatus.DECLINED
        offer.responded_at = timezone.now()
        offer.save(update_fields=["status", "responded_at", "updated_at"])
        _record_move(offer=offer, by=by, event=event, content=_stored_text(gettext_noop("Offer declined.")))
    return offer


def offer_counter(*, offer: Offer, by: User, counter_price: Decimal) -> Offer:
    """The seller answers a pending offer with a higher price the buyer may accept."""
    _expire_if_due(offer)
    with transaction.atomic():
        offer = _lock_offer(offer)
        _check_move(offer=offer, by=by, move="counter")
        product = Product.objects.get(pk=offer.product_id)
        _validate_offer_price(price=counter_price, product=product, attr="counter_price")
        if counter_price <= offer.offered_price:
            raise ValidationError(
                _("A counter-offer must be higher than the buyer's offer; accept the offer instead."),
                code="counter_not_above_offer",
                attr="counter_price",
            )
        offer.status = OfferStatus.COUNTERED
        offer.counter_price = counter_price
        offer.responded_at = timezone.now()
        offer.save(update_fields=["status", "counter_price", "responded_at", "updated_at"])
        _record_move(
            offer=offer,
            by=by,
            event="countered",
            content=_stored_text(gettext_noop("Counter-offer: AED %(price)s"), price=f"{counter_price:.2f}"),
        )
    return offer


def offer_withdraw(*, offer: Offer, by: User) -> Offer:
    """The buyer takes back a pending offer."""
    _expire_if_due(offer)
    with transaction.atomic():
        offer = _lock_offer(offer)
        _check_move(offer=offer, by=by, move="withdraw")
        offer.status = OfferStatus.WITHDRAWN
        offer.responded_at = timezone.now()
        offer.save(update_fields=["status", "responded_at", "updated_at"])
        _record_move(offer=offer, by=by, event="withdrawn", content=_stored_text(gettext_noop("Offer withdrawn.")))
    return offer


@transaction.atomic
def offer_cancel(*, offer: Offer, reason: str) -> Offer:
    """An accepted offer whose sale was refunded in full: it no longer binds either side."""
    _close_accepted(
        offer,
        status=OfferStatus.CANCELLED,
        content=gettext_noop("The sale was refunded; the accepted offer is cancelled."),
        now=timezone.now(),
    )
    return offer


def _close_accepted(offer: Offer, *, status: str, content: str, now: datetime) -> bool:
    """Move an accepted offer to ``status`` (conditional UPDATE) and tell both sides in the chat."""
    if not Offer.objects.filter(pk=offer.pk, status=OfferStatus.ACCEPTED).update(status=status, updated_at=now):
        return False
    offer.status = status
    _post(
        conversation=offer.conversation,
        sender=None,
        message_type=MessageType.SYSTEM,
        content=_stored_text(content),
        offer_data=_offer_data(offer, status),
    )
    return True


@transaction.atomic
def offers_decline_open_for_product(*, product: Product, except_offer: Offer | None = None) -> int:
    """Decline every open (pending/countered) offer on a listing, e.g. once it is sold or
    another offer was accepted; each buyer is told in their conversation."""
    qs = Offer.objects.filter(product=product, status__in=OPEN_OFFER_STATUSES)
    if except_offer is not None:
        qs = qs.exclude(pk=except_offer.pk)
    now = timezone.now()
    return _close_open_offers(
        qs,
        status=OfferStatus.DECLINED,
        content=_stored_text(gettext_noop("Offer declined: this listing is no longer available.")),
        now=now,
        responded_at=now,
    )


# --- reports --------------------------------------------------------------------------------


ReportTargetResolver = Callable[..., tuple[bool, Any]]
_report_targets: dict[str, ReportTargetResolver] = {}


def register_report_target(target_type: str, resolver: ReportTargetResolver) -> None:
    """An app above messaging makes its objects reportable: ``resolver(reporter=, pk=)`` returns
    (found, the user answerable for it). Called from that app's ``AppConfig.ready()``."""
    _report_targets[target_type] = resolver


def _report_target_owner(*, reporter: User, target_type: str, target_id: Any) -> tuple[bool, Any]:
    """(found, the user answerable for the target). Messages only count for participants."""
    pk = as_uuid(target_id)
    if pk is None:
        return False, None
    if target_type in _report_targets:
        return _report_targets[target_type](reporter=reporter, pk=pk)
    if target_type == ReportTargetType.USER:
        user = User.objects.filter(pk=pk, is_active=True).only("pk").first()
        return user is not None, user.pk if user else None
    if target_type == ReportTargetType.PRODUCT:
        row = Product.objects.filter(pk=pk, deleted_at__isnull=True).values_list("seller_id", flat=True).first()
        return row is not None, row
    message = (
        Message.objects.filter(pk=pk)
        .filter(Q(conversation__buyer=reporter) | Q(conversation__seller=reporter))
        .only("pk", "sender_id")
        .first()
    )
    return message is not None, message.sender_id if message else None


@transaction.atomic
def report_create(
    *, reporter: User, target_type: str, target_id: Any, reason: str, note: str = ""
) -> tuple[Report, bool]:
    """File a report for the moderators; reporting the same open thing again returns the
    existing report instead of growing the queue."""
    found, owner_id = _report_target_owner(reporter=reporter, target_type=target_type, target_id=target_id)
    if not found:
        raise NotFound(_("Nothing to report was found."), code="report_target_not_found")
    if owner_id == reporter.pk:
        raise ValidationError(_("You cannot report yourself."), code="cannot_report_self", attr="target_id")
    open_reports = Report.objects.filter(
        reporter=reporter, target_type=target_type, target_id=target_id, status=ReportStatus.OPEN
    )
    existing = open_reports.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter,
                target_type=target_type,
                target_id=target_id,
                reported_user_id=owner_id,
                reason=reason,
                note=note,
            )
    except IntegrityError:
        return open_reports.get(), False
    return report, True


@transaction.atomic
def report_close(*, report: Report, by: User, status: str, note: str | None = None) -> bool:
    """A moderator resolves or dismisses an open report; closing it twice changes nothing.
    Without a ``note`` the one already written on the report (e.g. "Save and continue" with a
    note, then the list action) is kept, not wiped."""
    if status not in (ReportStatus.RESOLVED, ReportStatus.DISMISSED):
        raise ValidationError(_("A report is closed as resolved or dismissed."), code="invalid_choice", attr="status")
    changes: dict[str, Any] = {"status": status, "resolved_by": by, "resolved_at": timezone.now()}
    if note is not None:
        changes["resolution_note"] = note
    return bool(
        Report.objects.filter(pk=report.pk, status=ReportStatus.OPEN).update(**changes, updated_at=timezone.now())
    )
