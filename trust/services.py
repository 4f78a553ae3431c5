"""Writes for claims and reviews. Money moves only through payments' services; every claim
step locks the transaction row first, then the claim (``trust.locks``), so a claim step, a
moderator's decision, ``release_payouts`` and confirm-receipt on one sale run one at a time."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import user_stats_add_upheld_claim, user_stats_set_rating
from payments.locks import transaction_for_update, transaction_locked
from payments.models import SALE_STANDS, Transaction, TransactionStatus
from payments.services import payout_hold_for_claim, payout_unhold, transaction_refund_for_claim
from soukloop import events
from soukloop.errors import Conflict, NotFound, PermissionDenied, ValidationError
from soukloop.money import quantize_aed
from trust.locks import claim_for_update
from trust.models import (
    CLAIM_ACTIVE,
    Claim,
    ClaimDecision,
    ClaimStatus,
    Review,
    ReviewRole,
    SellerAction,
)

logger = logging.getLogger(__name__)

MAX_CLAIM_IMAGES = 6

# --- Claims -----------------------------------------------------------------------------------


def _notify(claim: Claim, *, step: str) -> None:
    """Tell both parties (``claim.updated`` on each one's user channel; the delivery layers
    turn it into a push and an inbox row)."""
    data = {
        "claim_id": str(claim.pk),
        "transaction_id": str(claim.transaction_id),
        "status": claim.status,
        "step": step,
        "decision": claim.decision or None,
        "refund_amount": None if claim.refund_amount is None else f"{claim.refund_amount:.2f}",
    }
    for uid in (claim.buyer_id, claim.seller_id):
        events.publish("claim.updated", channel=f"user:{uid}", data={**data, "role": _role(claim, uid)})


def _role(claim: Claim, uid: Any) -> str:
    return "buyer" if uid == claim.buyer_id else "seller"


def _not_found() -> NotFound:
    return NotFound(_("Claim not found."), code="claim_not_found")


def _locked_claim(*, claim_id: Any, user: User | None) -> tuple[Claim, Transaction]:
    """The claim and its transaction, both locked (transaction first). ``user`` must be the
    buyer or the seller (strangers get 404); ``None`` for a moderator or a command."""
    row = Claim.objects.filter(pk=claim_id).values_list("transaction_id", flat=True).first()
    if row is None:
        raise _not_found()
    tx = transaction_locked(transaction_id=row)
    claim = claim_for_update(claim_id=claim_id)
    if claim is None or (user is not None and user.pk not in (claim.buyer_id, claim.seller_id)):
        raise _not_found()
    return claim, tx


def _only(claim: Claim, user: User, *, side: str) -> None:
    if (side == "buyer" and user.pk != claim.buyer_id) or (side == "seller" and user.pk != claim.seller_id):
        raise PermissionDenied(_("Only the %(side)s can do this.") % {"side": side}, code=f"not_the_{side}")


@transaction.atomic
def claim_open(
    *, buyer: User, transaction_id: uuid.UUID, reason: str, description: str, image_urls: list[str] | None = None
) -> Claim:
    """The buyer opens a claim on a completed sale whose payout is still held; the payout then
    stays held, whatever the timer says, until the claim is settled."""
    image_urls = list(image_urls or [])
    if len(image_urls) > MAX_CLAIM_IMAGES:
        raise ValidationError(_("Up to 6 photos."), code="too_many_images", attr="image_urls")
    User.objects.select_for_update().filter(pk=buyer.pk).first()  # lock order: buyer account first
    tx = transaction_for_update(transaction_id=transaction_id)
    if tx is None or buyer.pk not in (tx.buyer_id, tx.seller_id):
        raise NotFound(_("Transaction not found."), code="transaction_not_found")
    if tx.buyer_id != buyer.pk:
        raise PermissionDenied(_("Only the buyer can open a claim."), code="not_the_buyer")
    earlier = Claim.objects.filter(transaction_id=tx.pk).exclude(status=ClaimStatus.WITHDRAWN)
    if earlier.filter(status__in=CLAIM_ACTIVE).exists():
        raise Conflict(_("A claim on this purchase is already open."), code="claim_already_open")
    if earlier.exists():
        raise Conflict(_("A claim on this purchase has already been settled."), code="claim_already_settled")
    if Claim.objects.filter(buyer_id=buyer.pk, status__in=CLAIM_ACTIVE).count() >= settings.MAX_OPEN_CLAIMS:
        raise Conflict(
            _("You have %(n)s claims open; wait for one to be settled.") % {"n": settings.MAX_OPEN_CLAIMS},
            code="too_many_open_claims",
        )
    if tx.status not in SALE_STANDS or tx.status == TransactionStatus.DISPUTED:
        code = "transaction_disputed" if tx.status == TransactionStatus.DISPUTED else "transaction_not_completed"
        raise Conflict(_("A claim can only be opened on a completed purchase."), code=code)
    payout_hold_for_claim(transaction_id=tx.pk)  # 409 payout_released once the seller was paid
    now = timezone.now()
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                transaction_id=tx.pk,
                buyer_id=tx.buyer_id,
                seller_id=tx.seller_id,
                reason=reason,
                description=description,
                image_urls=image_urls,
                escalates_at=now + timedelta(hours=settings.CLAIM_SELLER_RESPONSE_HOURS),
            )
    except IntegrityError as exc:  # the partial unique constraint: another request won
        raise Conflict(_("A claim on this purchase is already open."), code="claim_already_open") from exc
    _notify(claim, step="opened")
    logger.info("claim %s opened on %s", claim.pk, tx.pk)
    return claim


def _refund(claim: Claim, *, amount: Decimal | None, by_id: Any, why: str) -> Decimal:
    """Refund through payments (the claim hold is lifted in the same DB transaction)."""
    before = Transaction.objects.filter(pk=claim.transaction_id).values_list("amount_refunded", flat=True).get()
    tx = transaction_refund_for_claim(
        transaction_id=claim.transaction_id, by_id=by_id, amount=amount, reason=f"claim {claim.pk}: {why}"[:200]
    )
    user_stats_add_upheld_claim(user_id=claim.seller_id)
    return tx.amount_refunded - before


def _remaining(claim: Claim) -> Decimal:
    tx = Transaction.objects.only("amount", "amount_refunded").get(pk=claim.transaction_id)
    return tx.amount - tx.amount_refunded


@transaction.atomic
def claim_respond(
    *,
    claim_id: uuid.UUID,
    seller: User,
    action: str,
    statement: str = "",
    image_urls: list[str] | None = None,
    amount: Decimal | None = None,
) -> Claim:
    """The seller answers an open claim: a full refund (resolved at once), a partial refund the
    buyer may accept, or a contest with a statement and photos (goes to moderators)."""
    claim, _tx = _locked_claim(claim_id=claim_id, user=seller)
    _only(claim, seller, side="seller")
    if claim.status != ClaimStatus.OPEN:
        raise Conflict(_("This claim is no longer waiting for your answer."), code="claim_not_open")
    image_urls = list(image_urls or [])
    if len(image_urls) > MAX_CLAIM_IMAGES:
        raise ValidationError(_("Up to 6 photos."), code="too_many_images", attr="image_urls")
    now = timezone.now()
    claim.seller_action = action
    claim.seller_response = statement
    claim.seller_image_urls = image_urls
    claim.responded_at = now
    if action == SellerAction.ACCEPT_REFUND:
        claim.refund_amount = _refund(claim, amount=None, by_id=seller.pk, why="seller accepted")
        claim.decision = ClaimDecision.FULL_REFUND
        claim.status = ClaimStatus.RESOLVED
        claim.closed_at = now
        claim.escalates_at = None
    elif action == SellerAction.PROPOSE_PARTIAL:
        remaining = _remaining(claim)
        amount = quantize_aed(amount) if amount is not None else None
        if amount is None or amount <= 0 or amount >= remaining:
            raise ValidationError(
                _("Propose between AED 0.01 and less than AED %(left)s (or accept a full refund).")
                % {"left": remaining},
                code="invalid_refund_amount",
                attr="amount",
            )
        claim.proposed_refund_amount = amount
        claim.status = ClaimStatus.SELLER_RESPONDED
        # Not accepted in time: moderators look at it.
        claim.escalates_at = now + timedelta(hours=settings.CLAIM_SELLER_RESPONSE_HOURS)
    elif action == SellerAction.CONTEST:
        if not statement.strip():
            raise ValidationError(_("Say why you contest the claim."), code="required", attr="statement")
        claim.status = ClaimStatus.SELLER_RESPONDED
        claim.escalates_at = now  # the parties disagree: the next escalation run hands it over
    else:
        raise ValidationError(_("Unknown action."), code="invalid_choice", attr="action")
    claim.save()
    _notify(claim, step=f"seller_{action}")
    return claim


@transaction.atomic
def claim_accept_proposal(*, claim_id: uuid.UUID, buyer: User) -> Claim:
    """The buyer accepts the seller's partial refund: refunded at once, claim resolved."""
    claim, _tx = _locked_claim(claim_id=claim_id, user=buyer)
    _only(claim, buyer, side="buyer")
    if claim.status != ClaimStatus.SELLER_RESPONDED or claim.seller_action != SellerAction.PROPOSE_PARTIAL:
        raise Conflict(_("There is no refund proposal to accept."), code="no_proposal")
    claim.refund_amount = _refund(
        claim, amount=claim.proposed_refund_amount, by_id=buyer.pk, why="buyer accepted partial"
    )
    claim.decision = ClaimDecision.PARTIAL_REFUND
    claim.status = ClaimStatus.RESOLVED
    claim.closed_at = timezone.now()
    claim.escalates_at = None
    claim.save()
    _notify(claim, step="proposal_accepted")
    return claim


@transaction.atomic
def claim_withdraw(*, claim_id: uuid.UUID, buyer: User) -> Claim:
    """The buyer drops the claim: the payout goes back to the normal hold."""
    claim, _tx = _locked_claim(claim_id=claim_id, user=buyer)
    _only(claim, buyer, side="buyer")
    if claim.status not in (ClaimStatus.OPEN, ClaimStatus.SELLER_RESPONDED):
        raise Conflict(_("This claim can no longer be withdrawn."), code="claim_not_withdrawable")
    payout_unhold(transaction_id=claim.transaction_id)
    claim.status = ClaimStatus.WITHDRAWN
    claim.closed_at = timezone.now()
    claim.escalates_at = None
    claim.save()
    _notify(claim, step="withdrawn")
    return claim


def claims_escalate_due(*, now: datetime | None = None) -> int:
    """Hand to moderators the claims whose seller stayed silent for CLAIM_SELLER_RESPONSE_HOURS,
    that the seller contested, or whose partial proposal the buyer did not accept in time.
    Idempotent: each claim is re-checked under its lock."""
    now = now or timezone.now()
    due = Claim.objects.filter(
        status__in=(ClaimStatus.OPEN, ClaimStatus.SELLER_RESPONDED), escalates_at__lte=now
    ).values_list("pk", flat=True)
    escalated = 0
    for pk in list(due):
        with transaction.atomic():
            claim, tx = _locked_claim(claim_id=pk, user=None)
            if claim.status not in (ClaimStatus.OPEN, ClaimStatus.SELLER_RESPONDED) or not (
                claim.escalates_at and claim.escalates_at <= now
            ):
                continue
            if tx.status == TransactionStatus.REFUNDED:  # refunded outside the claim: nothing to decide
                _resolve_as_refunded(claim, tx)
                continue
            claim.status = ClaimStatus.ESCALATED
            claim.escalated_at = now
            claim.escalates_at = None
            claim.save(update_fields=["status", "escalated_at", "escalates_at", "updated_at"])
            _notify(claim, step="escalated")
            escalated += 1
    return escalated


@transaction.atomic
def claim_decide(
    *, claim_id: uuid.UUID, moderator: User, decision: str, reason: str, amount: Decimal | None = None
) -> Claim:
    """A moderator decides an escalated claim: full refund, partial refund (``amount``) or
    release to the seller. Audited (who, when, why). A second moderator, or a decision on a
    claim settled meanwhile, gets 409 ``claim_not_escalated``; the money moves once."""
    if not (reason or "").strip():
        raise ValidationError(_("A decision needs a reason."), code="required", attr="reason")
    claim, _tx = _locked_claim(claim_id=claim_id, user=None)
    if claim.status != ClaimStatus.ESCALATED:
        raise Conflict(_("This claim is not waiting for a decision."), code="claim_not_escalated")
    if decision == ClaimDecision.FULL_REFUND:
        claim.refund_amount = _refund(claim, amount=None, by_id=moderator.pk, why=reason)
    elif decision == ClaimDecision.PARTIAL_REFUND:
        remaining = _remaining(claim)
        amount = quantize_aed(amount) if amount is not None else None
        if amount is None or amount <= 0 or amount > remaining:
            raise ValidationError(
                _("Refund between AED 0.01 and AED %(left)s.") % {"left": remaining},
                code="invalid_refund_amount",
                attr="amount",
            )
        claim.refund_amount = _refund(claim, amount=amount, by_id=moderator.pk, why=reason)
    elif decision == ClaimDecision.RELEASE:
        payout_unhold(transaction_id=claim.transaction_id, release_now=True)
        claim.refund_amount = None
    else:
        raise ValidationError(_("Unknown decision."), code="invalid_choice", attr="decision")
    now = timezone.now()
    claim.decision = decision
    claim.decision_reason = reason.strip()
    claim.decided_by = moderator
    claim.decided_at = now
    claim.closed_at = now
    claim.status = ClaimStatus.DECIDED
    claim.save()
    logger.info("claim %s decided %s by %s", claim.pk, decision, moderator.pk)
    _notify(claim, step="decided")
    return claim


# --- Reviews ----------------------------------------------------------------------------------

REVIEWABLE = (TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED, TransactionStatus.REFUNDED)


def review_window_closes(tx: Transaction) -> datetime:
    return (tx.completed_at or tx.created_at) + timedelta(days=settings.REVIEW_WINDOW_DAYS)


@transaction.atomic
def review_create(*, reviewer: User, transaction_id: uuid.UUID, rating: int, comment: str = "") -> Review:
    """The buyer or the seller of a completed sale reviews the other, once, within
    REVIEW_WINDOW_DAYS and with no claim open. Hidden until the other side has reviewed too
    (then both are published together) or the window closes."""
    tx = transaction_for_update(transaction_id=transaction_id)
    if tx is None or reviewer.pk not in (tx.buyer_id, tx.seller_id):
        raise NotFound(_("Transaction not found."), code="transaction_not_found")
    if tx.status not in REVIEWABLE or tx.completed_at is None:
        raise Conflict(_("Only a completed purchase can be reviewed."), code="transaction_not_completed")
    if Claim.objects.filter(transaction_id=tx.pk, status__in=CLAIM_ACTIVE).exists():
        raise Conflict(_("Wait until the claim on this purchase is settled."), code="claim_open")
    if timezone.now() > review_window_closes(tx):
        raise Conflict(_("The time to review this purchase has passed."), code="review_window_closed")
    if not 1 <= int(rating) <= 5:
        raise ValidationError(_("Rate from 1 to 5."), code="invalid_rating", attr="rating")
    as_seller = reviewer.pk == tx.buyer_id  # the buyer reviews the seller
    try:
        with transaction.atomic():
            review = Review.objects.create(
                transaction_id=tx.pk,
                reviewer_id=reviewer.pk,
                reviewee_id=tx.seller_id if as_seller else tx.buyer_id,
                role=ReviewRole.AS_SELLER if as_seller else ReviewRole.AS_BUYER,
                rating=int(rating),
                comment=comment,
            )
    except IntegrityError as exc:
        raise Conflict(_("You have already reviewed this purchase."), code="already_reviewed") from exc
    if Review.objects.filter(transaction_id=tx.pk).count() == 2:
        _publish(list(Review.objects.filter(transaction_id=tx.pk, published_at__isnull=True)), tx=tx)
    return review


def _traded_both_ways(a: Any, b: Any) -> bool:
    return (
        Transaction.objects.filter(seller_id=a, buyer_id=b, completed_at__isnull=False).exists()
        and Transaction.objects.filter(seller_id=b, buyer_id=a, completed_at__isnull=False).exists()
    )


def _counts(review: Review, tx: Transaction) -> bool:
    """The anti-farming rule (docs/trust.md): a review moves the rating only when the sale
    stands untouched (nothing refunded), the two accounts have not traded both ways, and it is
    the first counting review this reviewer gave this person."""
    if tx.status != TransactionStatus.COMPLETED or tx.amount_refunded > 0:
        return False
    if _traded_both_ways(review.reviewer_id, review.reviewee_id):
        return False
    return not Review.objects.filter(
        reviewer_id=review.reviewer_id, reviewee_id=review.reviewee_id, counts=True, published_at__isnull=False
    ).exists()


def _resolve_as_refunded(claim: Claim, tx: Transaction) -> None:
    now = timezone.now()
    claim.refund_amount = tx.amount_refunded
    claim.decision = ClaimDecision.FULL_REFUND
    claim.status = ClaimStatus.RESOLVED
    claim.closed_at = now
    claim.escalates_at = None
    claim.save(update_fields=["refund_amount", "decision", "status", "closed_at", "escalates_at", "updated_at"])
    payout_unhold(transaction_id=tx.pk)
    user_stats_add_upheld_claim(user_id=claim.seller_id)
    _notify(claim, step="refunded")


@transaction.atomic
def claim_settle_refunded(*, transaction_id: Any) -> Claim | None:
    """The sale was refunded in full outside the claim (the seller's refund button, Stripe's
    dashboard): the buyer's active claim got what it asked for and is resolved as a full refund,
    so it does not reach the moderators with nothing left to decide. Called after the refund
    commits (trust's event sink) and again by ``escalate_claims``; idempotent."""
    pk = (
        Claim.objects.filter(transaction_id=transaction_id, status__in=CLAIM_ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return None
    claim, tx = _locked_claim(claim_id=pk, user=None)
    if claim.status not in CLAIM_ACTIVE or tx.status != TransactionStatus.REFUNDED:
        return None
    _resolve_as_refunded(claim, tx)
    return claim


def _publish(reviews: list[Review], *, tx: Transaction) -> None:
    now = timezone.now()
    for review in reviews:
        review.counts = _counts(review, tx)
        review.published_at = now
        review.save(update_fields=["counts", "published_at", "updated_at"])
        rating_recompute(user_id=review.reviewee_id)
        events.publish(
            "review.published",
            channel=f"user:{review.reviewee_id}",
            data={"review_id": str(review.pk), "reviewee_id": str(review.reviewee_id), "rating": review.rating},
        )


def rating_recompute(*, user_id: Any) -> None:
    """The person's rating from their published, visible, counting reviews, stored on their
    stats row in the caller's DB transaction."""
    agg = Review.objects.filter(
        reviewee_id=user_id, published_at__isnull=False, hidden_at__isnull=True, counts=True
    ).aggregate(mean=Avg("rating"), n=Count("id"))
    mean = None if not agg["n"] else Decimal(str(agg["mean"])).quantize(Decimal("0.01"))
    user_stats_set_rating(user_id=user_id, rating=mean, rating_count=agg["n"])


def reviews_publish_due(*, now: datetime | None = None, reviewee: User | None = None) -> int:
    """Publish the reviews whose window closed without the other side reviewing. Idempotent;
    run by ``publish_reviews`` and lazily before a person's reviews are read."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REVIEW_WINDOW_DAYS)
    due = Review.objects.filter(published_at__isnull=True, transaction__completed_at__lt=cutoff)
    if reviewee is not None:
        due = due.filter(reviewee=reviewee)
    published = 0
    for tx_id in set(due.values_list("transaction_id", flat=True)):
        with transaction.atomic():
            tx = transaction_locked(transaction_id=tx_id)
            waiting = list(Review.objects.select_for_update().filter(transaction_id=tx_id, published_at__isnull=True))
            _publish(waiting, tx=tx)
            published += len(waiting)
    return published


@transaction.atomic
def review_reply(*, review_id: uuid.UUID, user: User, text: str) -> Review:
    """The reviewed person answers a published review publicly, once."""
    review = Review.objects.select_for_update().filter(pk=review_id).first()
    if review is None or review.published_at is None or review.hidden_at is not None:
        raise NotFound(_("Review not found."), code="review_not_found")
    if review.reviewee_id != user.pk:
        raise PermissionDenied(_("Only the person reviewed can reply."), code="not_the_reviewee")
    if review.replied_at is not None:
        raise Conflict(_("You have already replied to this review."), code="already_replied")
    if not text.strip():
        raise ValidationError(_("Write a reply."), code="required", attr="reply")
    review.reply = text.strip()
    review.replied_at = timezone.now()
    review.save(update_fields=["reply", "replied_at", "updated_at"])
    return review


@transaction.atomic
def review_set_hidden(*, review: Review, by: User, hidden: bool, reason: str = "") -> bool:
    """A moderator hides a review (reason required) or shows it again; the rating follows in the
    same DB transaction. Returns whether anything changed."""
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if hidden and not reason.strip():
        raise ValidationError(_("Say why the review is hidden."), code="required", attr="hidden_reason")
    if hidden == (locked.hidden_at is not None):
        return False
    locked.hidden_at = timezone.now() if hidden else None
    locked.hidden_by = by
    locked.hidden_reason = reason.strip()
    locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
    rating_recompute(user_id=locked.reviewee_id)
    logger.info("review %s %s by %s", locked.pk, "hidden" if hidden else "shown", by.pk)
    return True
