"""Money moves: onboarding, checkout, webhooks, payouts, refunds.

How Stripe calls and the database fit together, so nothing is lost or done twice:
- Writes to Stripe carry an idempotency key derived from our own ids (``gateway.idempotency_key``).
  Where a Stripe write and a DB write must agree (transfer, refund), the Stripe call runs inside
  the DB transaction that holds the row lock: if the commit fails, the retry repeats the same
  call with the same key and Stripe returns the first result instead of acting twice.
- Checkout is two steps on purpose: the item is reserved (committed, so competing buyers see
  it at once), then the PaymentIntent is created; if Stripe fails, the reservation is deleted.
- Each webhook event is recorded in the same DB transaction as its effects.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import is_blocked_between
from catalog.models import Product
from catalog.services import product_mark_sold
from messaging.models import Offer, OfferStatus
from messaging.services import conversation_get_or_create, message_post_system, offers_decline_open_for_product
from payments.fees import compute_fees
from payments.gateway import idempotency_key, stripe_client
from payments.models import (
    ConnectAccount,
    FailureReason,
    PayoutBlock,
    PayoutStatus,
    StripeEvent,
    Transaction,
    TransactionStatus,
)
from soukloop.errors import Conflict, NotFound, PermissionDenied, ServiceUnavailable, ValidationError
from soukloop.money import to_fils

logger = logging.getLogger(__name__)

OPEN_STATUSES = (TransactionStatus.PENDING, TransactionStatus.COMPLETED)


def _provider_unavailable(exc: Exception, *, action: str, object_id: object) -> ServiceUnavailable:
    # The exception class only: Stripe messages may echo request data.
    logger.warning("stripe %s failed for %s: %s", action, object_id, type(exc).__name__)
    return ServiceUnavailable(
        _("The payment provider is unavailable. Try again shortly."), code="payment_provider_unavailable"
    )


# --- Stripe Connect onboarding ---------------------------------------------------------------


def _sync_account_fields(record: ConnectAccount, account: dict[str, Any]) -> None:
    requirements = account.get("requirements") or {}
    record.charges_enabled = bool(account.get("charges_enabled"))
    record.payouts_enabled = bool(account.get("payouts_enabled"))
    record.details_submitted = bool(account.get("details_submitted"))
    record.disabled_reason = requirements.get("disabled_reason") or ""
    record.requirements_due = sorted(
        set(requirements.get("currently_due") or []) | set(requirements.get("past_due") or [])
    )


def _apply_onboarding_to_user_and_payouts(record: ConnectAccount) -> None:
    User.objects.filter(pk=record.user_id).update(
        stripe_connect_account_id=record.stripe_account_id,
        stripe_onboarded=record.charges_enabled and record.payouts_enabled,
    )
    held = Transaction.objects.filter(
        seller_id=record.user_id, status=TransactionStatus.COMPLETED, payout_status=PayoutStatus.HELD
    )
    if record.payouts_enabled:
        held.filter(payout_blocked_reason=PayoutBlock.SELLER_NOT_ONBOARDED).update(
            payout_blocked_reason=PayoutBlock.NONE, updated_at=timezone.now()
        )
    else:
        held.filter(payout_blocked_reason=PayoutBlock.NONE).update(
            payout_blocked_reason=PayoutBlock.SELLER_NOT_ONBOARDED, updated_at=timezone.now()
        )


@transaction.atomic
def connect_account_get_or_create(*, user: User) -> ConnectAccount:
    """The seller's connected account, created at Stripe on first use (once, even if raced)."""
    if not user.can_sell:
        raise PermissionDenied(_("Only sellers can set up payouts."), code="not_a_seller")
    locked = User.objects.select_for_update().get(pk=user.pk)
    existing = ConnectAccount.objects.filter(user=locked).first()
    if existing is not None:
        return existing
    client = stripe_client()
    try:
        if locked.stripe_connect_account_id:
            account = client.v1.accounts.retrieve(locked.stripe_connect_account_id)
        else:
            account = client.v1.accounts.create(
                params={
                    "type": "express",
                    "country": "AE",
                    "email": locked.email,
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": {"user_id": str(locked.pk)},
                },
                options={"idempotency_key": idempotency_key("connect-account", locked.pk)},
            )
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="account", object_id=locked.pk) from exc
    record = ConnectAccount(user=locked, stripe_account_id=account.id)
    _sync_account_fields(record, account.to_dict())
    record.save()
    _apply_onboarding_to_user_and_payouts(record)
    return record


def connect_onboarding_link(*, user: User) -> str:
    """An Account Link URL to Stripe's hosted onboarding (links are single-use, so always new)."""
    record = connect_account_get_or_create(user=user)
    try:
        link = stripe_client().v1.account_links.create(
            params={
                "account": record.stripe_account_id,
                "refresh_url": settings.STRIPE_CONNECT_REFRESH_URL,
                "return_url": settings.STRIPE_CONNECT_RETURN_URL,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="account_link", object_id=user.pk) from exc
    return link.url


# --- Checkout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkout:
    transaction: Transaction
    client_secret: str
    created: bool


def _held_by_accepted_offer(*, product: Product, buyer: User) -> bool:
    """An accepted offer reserves the item for its buyer until it lapses
    (``ACCEPTED_OFFER_HOLD_HOURS``, see ``messaging.services.offers_lapse_unpaid_accepted``)."""
    cutoff = timezone.now() - timedelta(hours=settings.ACCEPTED_OFFER_HOLD_HOURS)
    return (
        Offer.objects.filter(product=product, status=OfferStatus.ACCEPTED, responded_at__gt=cutoff)
        .exclude(buyer=buyer)
        .exists()
    )


@transaction.atomic
def _checkout_reserve(
    *, buyer: User, product_id: uuid.UUID | None, offer_id: uuid.UUID | None
) -> tuple[Transaction, bool]:
    if not buyer.is_verified:
        raise PermissionDenied(_("Verify your phone number before you buy."), code="phone_not_verified")
    # The buyer's row serialises one buyer's checkouts, so the cap on open ones below holds
    # under parallel requests (a fresh account opened 38 checkouts in 1.5 s before).
    User.objects.select_for_update().filter(pk=buyer.pk).first()
    offer: Offer | None = None
    if offer_id is not None:
        offer = Offer.objects.filter(pk=offer_id, buyer=buyer).first()
        if offer is None:
            raise NotFound(_("Offer not found."), code="offer_not_found")
        if offer.status != OfferStatus.ACCEPTED:
            raise Conflict(_("Only an accepted offer can be paid for."), code="offer_not_accepted")
        product_id = offer.product_id
    # The product row lock serialises checkouts of one item; the partial unique
    # constraint payments_tx_one_open_per_product is the backstop.
    product = Product.objects.select_for_update().filter(pk=product_id, deleted_at__isnull=True).first()
    if product is None:
        raise NotFound(_("Listing not found."), code="product_not_found")
    if offer is not None:
        # Lock the offer too (after the product, the order offer moves use), so the lapse of
        # an unpaid accepted offer and its checkout cannot both go through.
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        if offer.status != OfferStatus.ACCEPTED:
            raise Conflict(_("Only an accepted offer can be paid for."), code="offer_not_accepted")
    if product.seller_id == buyer.pk:
        raise ValidationError(_("You cannot buy your own listing."), code="own_product")
    seller = User.objects.get(pk=product.seller_id)
    if is_blocked_between(user_a=buyer, user_b=seller):
        raise NotFound(_("Listing not found."), code="product_not_found")
    open_tx = Transaction.objects.filter(product=product, status__in=OPEN_STATUSES).first()
    if open_tx is not None:
        if open_tx.status == TransactionStatus.COMPLETED:
            raise Conflict(_("This item has already been sold."), code="product_sold")
        if open_tx.buyer_id == buyer.pk and open_tx.offer_id == (offer.pk if offer else None):
            return open_tx, False
        if open_tx.buyer_id == buyer.pk:
            raise Conflict(_("You already have a checkout in progress for this item."), code="checkout_in_progress")
        raise Conflict(
            _("Someone else is checking out this item. Try again in a few minutes."), code="product_reserved"
        )
    if not product.is_available:
        raise Conflict(_("This item has already been sold."), code="product_sold")
    if offer is None and _held_by_accepted_offer(product=product, buyer=buyer):
        raise Conflict(_("The seller has accepted another buyer's offer on this item."), code="product_reserved")
    open_for_buyer = Transaction.objects.filter(buyer=buyer, status=TransactionStatus.PENDING).count()
    if open_for_buyer >= settings.MAX_OPEN_CHECKOUTS:
        raise Conflict(_("Finish or cancel one of your checkouts in progress first."), code="too_many_open_checkouts")
    fees = compute_fees(amount=offer.agreed_price if offer else product.price, feed_type=product.feed_type)
    try:
        with transaction.atomic():
            tx = Transaction.objects.create(
                buyer=buyer,
                seller_id=product.seller_id,
                product=product,
                offer=offer,
                amount=fees.amount,
                currency=fees.currency,
                platform_fee=fees.platform_fee,
                seller_payout=fees.seller_payout,
                feed_type=product.feed_type,
            )
    except IntegrityError as exc:
        raise Conflict(
            _("Someone else is checking out this item. Try again in a few minutes."), code="product_reserved"
        ) from exc
    return tx, True


def checkout_start(*, buyer: User, product_id: uuid.UUID | None = None, offer_id: uuid.UUID | None = None) -> Checkout:
    """Reserve the item for ``buyer`` and create (or find again) its PaymentIntent.

    Not one atomic block on purpose: the reservation commits first so competing buyers get
    409 at once, without waiting on Stripe; if Stripe then fails the reservation is removed.
    """
    if (product_id is None) == (offer_id is None):
        raise ValidationError(_("Give either product_id or offer_id."), code="product_or_offer_required")
    tx, created = _checkout_reserve(buyer=buyer, product_id=product_id, offer_id=offer_id)
    client = stripe_client()
    expected_amount = to_fils(tx.amount)
    try:
        if tx.stripe_payment_intent_id:
            intent = client.v1.payment_intents.retrieve(tx.stripe_payment_intent_id)
        else:
            intent = client.v1.payment_intents.create(
                params={
                    "amount": expected_amount,
                    "currency": tx.currency.lower(),
                    "transfer_group": str(tx.pk),
                    "automatic_payment_methods": {"enabled": True},
                    "metadata": {
                        "transaction_id": str(tx.pk),
                        "product_id": str(tx.product_id),
                        "buyer_id": str(tx.buyer_id),
                        "seller_id": str(tx.seller_id),
                    },
                },
                options={"idempotency_key": idempotency_key("checkout", tx.pk)},
            )
    except stripe.StripeError as exc:
        if created:
            Transaction.objects.filter(pk=tx.pk, status=TransactionStatus.PENDING, stripe_payment_intent_id="").delete()
        raise _provider_unavailable(exc, action="payment_intent", object_id=tx.pk) from exc
    intent_data = intent.to_dict()
    if intent_data.get("amount") != expected_amount or (intent_data.get("metadata") or {}).get("transaction_id") != str(
        tx.pk
    ):
        logger.error("PaymentIntent %s does not match transaction %s", intent.id, tx.pk)
        raise ServiceUnavailable(
            _("The payment provider is unavailable. Try again shortly."), code="payment_provider_unavailable"
        )
    if not tx.stripe_payment_intent_id:
        Transaction.objects.filter(pk=tx.pk, stripe_payment_intent_id="").update(
            stripe_payment_intent_id=intent.id, updated_at=timezone.now()
        )
        tx.stripe_payment_intent_id = intent.id
    return Checkout(transaction=tx, client_secret=intent.client_secret, created=created)


@dataclass
class CheckoutReleaseReport:
    released: int = 0
    kept: int = 0
    errors: list[str] = field(default_factory=list)


def checkouts_release_expired(*, now: datetime | None = None) -> CheckoutReleaseReport:
    """Free items held by checkouts older than CHECKOUT_HOLD_MINUTES; cancel their PaymentIntents.

    A PaymentIntent that already succeeded (or is processing) is kept: its webhook decides.
    Idempotent: a second run finds nothing pending past the cutoff.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    report = CheckoutReleaseReport()
    client = stripe_client()
    stale = Transaction.objects.filter(status=TransactionStatus.PENDING, created_at__lt=cutoff).only(
        "pk", "stripe_payment_intent_id"
    )
    for tx in stale.iterator():
        if tx.stripe_payment_intent_id:
            try:
                client.v1.payment_intents.cancel(
                    tx.stripe_payment_intent_id,
                    params={"cancellation_reason": "abandoned"},
                    options={"idempotency_key": idempotency_key("checkout-cancel", tx.pk)},
                )
            except stripe.InvalidRequestError:
                try:
                    intent = client.v1.payment_intents.retrieve(tx.stripe_payment_intent_id)
                except stripe.StripeError as exc:
                    report.errors.append(f"{tx.pk}: {type(exc).__name__}")
                    continue
                if intent.status != "canceled":
                    report.kept += 1
                    continue
            except stripe.StripeError as exc:
                report.errors.append(f"{tx.pk}: {type(exc).__name__}")
                continue
        updated = Transaction.objects.filter(pk=tx.pk, status=TransactionStatus.PENDING).update(
            status=TransactionStatus.FAILED, failure_reason=FailureReason.CHECKOUT_EXPIRED, updated_at=now
        )
        report.released += updated
    return report


# --- Buyer protection: payouts ----------------------------------------------------------------


def _release_locked(tx: Transaction) -> Transaction:
    """Transfer the seller's share of a locked, completed transaction, or record why it waits."""
    if tx.payout_status != PayoutStatus.HELD or tx.status != TransactionStatus.COMPLETED:
        return tx
    if tx.disputed_at is not None:
        blocked = PayoutBlock.DISPUTED
    else:
        account = ConnectAccount.objects.filter(user_id=tx.seller_id).first()
        blocked = (
            PayoutBlock.NONE if account is not None and account.payouts_enabled else PayoutBlock.SELLER_NOT_ONBOARDED
        )
    if blocked:
        if tx.payout_blocked_reason != blocked:
            tx.payout_blocked_reason = blocked
            tx.save(update_fields=["payout_blocked_reason", "updated_at"])
        return tx
    if tx.seller_payout > 0:
        params: dict[str, Any] = {
            "amount": to_fils(tx.seller_payout),
            "currency": tx.currency.lower(),
            "destination": account.stripe_account_id,
            "transfer_group": str(tx.pk),
            "metadata": {"transaction_id": str(tx.pk)},
        }
        if tx.stripe_charge_id:
            params["source_transaction"] = tx.stripe_charge_id
        try:
            transfer = stripe_client().v1.transfers.create(
                params=params, options={"idempotency_key": idempotency_key("payout", tx.pk)}
            )
        except stripe.StripeError as exc:
            raise _provider_unavailable(exc, action="transfer", object_id=tx.pk) from exc
        tx.stripe_transfer_id = transfer.id
    tx.payout_status = PayoutStatus.RELEASED
    tx.payout_released_at = timezone.now()
    tx.payout_blocked_reason = PayoutBlock.NONE
    tx.save(
        update_fields=[
            "payout_status",
            "payout_released_at",
            "payout_blocked_reason",
            "stripe_transfer_id",
            "updated_at",
        ]
    )
    return tx


@transaction.atomic
def payout_release(*, transaction_id: uuid.UUID) -> Transaction:
    """Release one held payout now (if nothing blocks it). Safe to call again."""
    tx = Transaction.objects.select_for_update().get(pk=transaction_id)
    return _release_locked(tx)


def _may_refund_as_staff(user: User) -> bool:
    """Refunding someone's payment from the API is for staff holding the change permission (or
    superusers); a moderator who may only look at transactions is a stranger here."""
    return bool(user.is_staff and user.has_perm("payments.change_transaction"))


def _own_transaction_locked(*, transaction_id: uuid.UUID, user: User, staff_may_act: bool = False) -> Transaction:
    """The buyer's or seller's transaction (locked); anyone else gets 404, never a hint it exists,
    except staff with the right permission when ``staff_may_act``."""
    tx = Transaction.objects.select_for_update().filter(pk=transaction_id).first()
    if tx is None or (
        user.pk not in (tx.buyer_id, tx.seller_id) and not (staff_may_act and _may_refund_as_staff(user))
    ):
        raise NotFound(_("Transaction not found."), code="transaction_not_found")
    return tx


def transaction_confirm_receipt(*, transaction_id: uuid.UUID, buyer: User) -> Transaction:
    """The buyer has the item: record it, then release the payout.

    The confirmation commits on its own; if Stripe is down the payout stays held and
    ``release_payouts`` transfers it later (receipt confirmed = hold over).
    """
    with transaction.atomic():
        tx = _own_transaction_locked(transaction_id=transaction_id, user=buyer)
        if tx.buyer_id != buyer.pk:
            if tx.seller_id == buyer.pk:
                raise PermissionDenied(_("Only the buyer can confirm receipt."), code="not_the_buyer")
            raise NotFound(_("Transaction not found."), code="transaction_not_found")
        if tx.status != TransactionStatus.COMPLETED:
            raise Conflict(_("This payment has not been completed."), code="transaction_not_completed")
        if tx.payout_status == PayoutStatus.CANCELLED:
            raise Conflict(_("This payment was refunded."), code="payout_cancelled")
        if tx.receipt_confirmed_at is None:
            tx.receipt_confirmed_at = timezone.now()
            tx.save(update_fields=["receipt_confirmed_at", "updated_at"])
    try:
        return payout_release(transaction_id=tx.pk)
    except ServiceUnavailable:
        tx.refresh_from_db()
        return tx


@dataclass
class PayoutReleaseReport:
    released: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def payouts_release_due(*, now: datetime | None = None) -> PayoutReleaseReport:
    """Release payouts whose hold has passed (PAYOUT_HOLD_DAYS after payment) or whose buyer
    confirmed receipt. Disputed and refunded ones are never released. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PAYOUT_HOLD_DAYS)
    due = Transaction.objects.filter(
        Q(completed_at__lte=cutoff) | Q(receipt_confirmed_at__isnull=False),
        status=TransactionStatus.COMPLETED,
        payout_status=PayoutStatus.HELD,
        disputed_at__isnull=True,
    ).values_list("pk", flat=True)
    report = PayoutReleaseReport()
    for pk in list(due):
        try:
            tx = payout_release(transaction_id=pk)
        except ServiceUnavailable:
            report.errors.append(str(pk))
            continue
        if tx.payout_status == PayoutStatus.RELEASED:
            report.released += 1
        else:
            report.waiting += 1
    return report


# --- Refunds ----------------------------------------------------------------------------------


@transaction.atomic
def transaction_refund(*, transaction_id: uuid.UUID, by: User) -> Transaction:
    """Seller or staff refund a completed payment before its payout is released."""
    tx = _own_transaction_locked(transaction_id=transaction_id, user=by, staff_may_act=True)
    if not (tx.seller_id == by.pk or _may_refund_as_staff(by)):
        raise PermissionDenied(_("Only the seller or staff can refund a payment."), code="refund_not_allowed")
    if tx.status == TransactionStatus.REFUNDED:
        raise Conflict(_("This payment has already been refunded."), code="already_refunded")
    if tx.status != TransactionStatus.COMPLETED:
        raise Conflict(_("This payment has not been completed."), code="transaction_not_completed")
    if tx.payout_status == PayoutStatus.RELEASED:
        raise Conflict(
            _("The seller has already been paid; this payment can no longer be refunded here."),
            code="payout_released",
        )
    try:
        refund = stripe_client().v1.refunds.create(
            params={"payment_intent": tx.stripe_payment_intent_id, "metadata": {"transaction_id": str(tx.pk)}},
            options={"idempotency_key": idempotency_key("refund", tx.pk)},
        )
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="refund", object_id=tx.pk) from exc
    _mark_refunded(tx, refund_id=refund.id)
    return tx


def _mark_refunded(tx: Transaction, *, refund_id: str = "") -> None:
    tx.status = TransactionStatus.REFUNDED
    tx.refunded_at = timezone.now()
    if refund_id:
        tx.stripe_refund_id = refund_id
    if tx.payout_status == PayoutStatus.HELD:
        tx.payout_status = PayoutStatus.CANCELLED
        tx.payout_blocked_reason = PayoutBlock.NONE
    tx.save(
        update_fields=[
            "status",
            "refunded_at",
            "stripe_refund_id",
            "payout_status",
            "payout_blocked_reason",
            "updated_at",
        ]
    )


# --- Webhook ----------------------------------------------------------------------------------


def _event_time(event: dict[str, Any]) -> datetime | None:
    created = event.get("created")
    return datetime.fromtimestamp(int(created), tz=UTC) if created else None


def _tx_for_intent(intent: dict[str, Any]) -> Transaction | None:
    qs = Transaction.objects.select_for_update()
    tx = qs.filter(stripe_payment_intent_id=intent.get("id") or "-").first()
    if tx is not None:
        return tx
    try:
        tx_id = uuid.UUID(str((intent.get("metadata") or {}).get("transaction_id")))
    except ValueError:
        return None
    # The id is saved just after Stripe answers; match the metadata only while it is unset.
    return qs.filter(pk=tx_id, stripe_payment_intent_id="").first()


def _tx_for_charge(obj: dict[str, Any]) -> Transaction | None:
    qs = Transaction.objects.select_for_update()
    if obj.get("payment_intent"):
        tx = qs.filter(stripe_payment_intent_id=obj["payment_intent"]).first()
        if tx is not None:
            return tx
    charge_id = obj.get("charge") if obj.get("object") == "dispute" else obj.get("id")
    return qs.filter(stripe_charge_id=charge_id).first() if charge_id else None


def _amount_matches(tx: Transaction, *, fils: Any, currency: Any) -> bool:
    return fils == to_fils(tx.amount) and str(currency).lower() == tx.currency.lower()


def _refund_late_payment(tx: Transaction, intent_id: str) -> str:
    """Money arrived for an item no longer held for this buyer: give it back."""
    try:
        refund = stripe_client().v1.refunds.create(
            params={"payment_intent": intent_id, "metadata": {"transaction_id": str(tx.pk)}},
            options={"idempotency_key": idempotency_key("refund", tx.pk)},
        )
    except stripe.StripeError as exc:
        # Raising rolls the event record back, so Stripe's retry tries again.
        raise _provider_unavailable(exc, action="refund", object_id=tx.pk) from exc
    _mark_refunded(tx, refund_id=refund.id)
    return "refunded_late_payment"


def _on_intent_succeeded(intent: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_intent(intent)
    if tx is None:
        return "unknown_transaction"
    if intent.get("status") != "succeeded" or not _amount_matches(
        tx, fils=intent.get("amount_received"), currency=intent.get("currency")
    ):
        logger.error("payment_intent.succeeded for %s does not match the transaction", tx.pk)
        return "mismatch_ignored"
    if tx.status in (TransactionStatus.COMPLETED, TransactionStatus.REFUNDED):
        return f"already_{tx.status}"
    now = timezone.now()
    tx.stripe_payment_intent_id = intent["id"]
    tx.stripe_charge_id = intent.get("latest_charge") or tx.stripe_charge_id
    tx.payment_method = ((intent.get("payment_method_types") or [""])[0])[:50]
    tx.status = TransactionStatus.COMPLETED
    tx.completed_at = now
    tx.failure_reason = ""
    account = ConnectAccount.objects.filter(user_id=tx.seller_id).first()
    if tx.disputed_at is not None:
        tx.payout_blocked_reason = PayoutBlock.DISPUTED
    elif account is None or not account.payouts_enabled:
        tx.payout_blocked_reason = PayoutBlock.SELLER_NOT_ONBOARDED
    try:
        with transaction.atomic():
            tx.save()
            product = Product.objects.get(pk=tx.product_id)
            product_mark_sold(product=product, sold_at=now)
    except (IntegrityError, Conflict):
        # A late payment (after a decline or an expired hold) for an item that has since
        # been taken: another open transaction exists or the listing is sold.
        tx.refresh_from_db()
        return _refund_late_payment(tx, intent["id"])
    offers_decline_open_for_product(product=product)
    conversation, _created = conversation_get_or_create(buyer=tx.buyer, product=product)
    message_post_system(
        conversation=conversation,
        content=_("Payment of %(amount)s %(currency)s received. The seller is paid once the buyer confirms receipt.")
        % {"amount": tx.amount, "currency": tx.currency},
        offer_data={"event": "payment_completed", "transaction_id": str(tx.pk), "amount": str(tx.amount)},
    )
    return "completed"


def _on_intent_failed(intent: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_intent(intent)
    if tx is None:
        return "unknown_transaction"
    if tx.status != TransactionStatus.PENDING:
        # Out of order: a later success (or refund) already decided this transaction.
        return f"ignored_{tx.status}"
    tx.status = TransactionStatus.FAILED
    tx.failure_reason = FailureReason.PAYMENT_FAILED
    tx.stripe_payment_intent_id = intent["id"]
    tx.save(update_fields=["status", "failure_reason", "stripe_payment_intent_id", "updated_at"])
    intent_id, tx_id = intent["id"], tx.pk

    def cancel_intent() -> None:
        # The item is free again, so this intent must not be paid later; best effort (a late
        # success is refunded by _on_intent_succeeded if the item has gone).
        try:
            stripe_client().v1.payment_intents.cancel(
                intent_id, options={"idempotency_key": idempotency_key("checkout-cancel", tx_id)}
            )
        except stripe.StripeError as exc:
            logger.info("could not cancel PaymentIntent for %s: %s", tx_id, type(exc).__name__)

    transaction.on_commit(cancel_intent)
    return "failed"


def _on_charge_refunded(charge: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_charge(charge)
    if tx is None:
        return "unknown_transaction"
    if not charge.get("refunded"):
        logger.warning("partial refund on transaction %s: left for finance", tx.pk)
        return "partial_refund_ignored"
    if not _amount_matches(tx, fils=charge.get("amount_refunded"), currency=charge.get("currency")):
        logger.error("charge.refunded for %s does not match the transaction", tx.pk)
        return "mismatch_ignored"
    if tx.status in (TransactionStatus.REFUNDED, TransactionStatus.FAILED):
        return f"ignored_{tx.status}"
    if tx.payout_status == PayoutStatus.RELEASED:
        logger.warning("transaction %s refunded after its payout was released", tx.pk)
    refunds = (charge.get("refunds") or {}).get("data") or []
    _mark_refunded(tx, refund_id=tx.stripe_refund_id or (refunds[0].get("id", "") if refunds else ""))
    return "refunded"


def _on_dispute_created(dispute: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_charge(dispute)
    if tx is None:
        return "unknown_transaction"
    if tx.disputed_at is not None:
        return "already_disputed"
    tx.disputed_at = _event_time(event) or timezone.now()
    tx.stripe_dispute_id = dispute.get("id") or ""
    if tx.payout_status == PayoutStatus.HELD:
        tx.payout_blocked_reason = PayoutBlock.DISPUTED
    else:
        logger.warning("dispute on transaction %s whose payout is %s", tx.pk, tx.payout_status)
    tx.save(update_fields=["disputed_at", "stripe_dispute_id", "payout_blocked_reason", "updated_at"])
    return "payout_frozen"


def _on_account_updated(account: dict[str, Any], event: dict[str, Any]) -> str:
    record = ConnectAccount.objects.select_for_update().filter(stripe_account_id=account.get("id") or "-").first()
    if record is None:
        return "unknown_account"
    happened_at = _event_time(event)
    if record.last_event_at and happened_at and happened_at < record.last_event_at:
        return "stale_ignored"
    _sync_account_fields(record, account)
    record.last_event_at = happened_at or record.last_event_at
    record.save()
    _apply_onboarding_to_user_and_payouts(record)
    return "account_synced"


WEBHOOK_HANDLERS = {
    "payment_intent.succeeded": _on_intent_succeeded,
    "payment_intent.payment_failed": _on_intent_failed,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
    "account.updated": _on_account_updated,
}


def webhook_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if the Stripe-Signature header signs this exact body within the tolerance."""
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature or "",
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise ValidationError(_("Invalid or expired webhook signature."), code="invalid_signature") from exc
    data = event.to_dict()
    if not _well_formed_event(data):
        raise ValidationError(_("Malformed webhook event."), code="invalid_event")
    return data


# Stripe's event timestamps are Unix seconds; anything outside these years is not one.
_EVENT_TIME_RANGE = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01


def _well_formed_event(data: dict[str, Any]) -> bool:
    """The shape the handlers rely on. A signed event is trusted for who sent it, not for being
    well-formed: a bad ``created`` or a non-object ``metadata`` answered 500 before."""
    obj = (data.get("data") or {}).get("object") if isinstance(data.get("data"), dict) else None
    created = data.get("created")
    return (
        isinstance(data.get("id"), str)
        and bool(data["id"])
        and isinstance(data.get("type"), str)
        and bool(data["type"])
        and isinstance(obj, dict)
        and isinstance(obj.get("metadata", {}), dict | None)
        and (created is None or (type(created) is int and _EVENT_TIME_RANGE[0] <= created <= _EVENT_TIME_RANGE[1]))
    )


@transaction.atomic
def webhook_event_apply(*, event: dict[str, Any]) -> str:
    """Apply one verified event exactly once: its record and its effects commit together."""
    obj = event["data"]["object"]
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(
                event_id=str(event["id"])[:255],
                type=str(event["type"])[:100],
                object_id=str(obj.get("id") or "")[:255],
                stripe_created_at=_event_time(event),
            )
    except IntegrityError:
        return "duplicate"
    handler = WEBHOOK_HANDLERS.get(event["type"])
    outcome = handler(obj, event) if handler else "unhandled_type"
    StripeEvent.objects.filter(pk=record.pk).update(outcome=outcome)
    return outcome
