from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Product
from messaging.models import OPEN_OFFER_STATUSES, Conversation, Message, MessageType, Offer, OfferStatus
from soukloop.errors import ValidationError


def conversation_get_or_create(*, buyer, product: Product) -> tuple[Conversation, bool]:
    """One conversation per buyer and listing; race-safe (the unique constraint decides)."""
    if product.seller_id == buyer.pk:
        raise ValidationError("You cannot start a conversation about your own listing.", code="own_product")
    existing = Conversation.objects.filter(buyer=buyer, product=product).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Conversation.objects.create(buyer=buyer, seller_id=product.seller_id, product=product), True
    except IntegrityError:
        return Conversation.objects.get(buyer=buyer, product=product), False


@transaction.atomic
def message_post_system(
    *,
    conversation: Conversation,
    content: str,
    offer_data: dict | None = None,
    message_type: str = MessageType.SYSTEM,
) -> Message:
    """A message from the platform (payment received, offer accepted...) seen by both sides.

    Bumps both unread counts and the conversation's last message in one UPDATE.
    """
    message = Message.objects.create(
        conversation=conversation, sender=None, message_type=message_type, content=content, offer_data=offer_data
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message=message,
        last_message_at=message.created_at,
        buyer_unread_count=F("buyer_unread_count") + 1,
        seller_unread_count=F("seller_unread_count") + 1,
        buyer_archived=False,
        seller_archived=False,
        updated_at=timezone.now(),
    )
    return message


@transaction.atomic
def offers_decline_open_for_product(*, product: Product, except_offer: Offer | None = None) -> int:
    """Decline every open (pending/countered) offer on a listing, e.g. once it is sold."""
    qs = Offer.objects.filter(product=product, status__in=OPEN_OFFER_STATUSES)
    if except_offer is not None:
        qs = qs.exclude(pk=except_offer.pk)
    return qs.update(status=OfferStatus.DECLINED, responded_at=timezone.now(), updated_at=timezone.now())
