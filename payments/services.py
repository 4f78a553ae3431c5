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

import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import is_blocked_between
from accounts.services import user_set_payout_account
from catalog.holds import product_held_for_someone_else
from catalog.locks import product_for_update, product_locked
from catalog.models import Product
from catalog.services import product_mark_sold, product_relist
from messaging.locks import offer_for_update
from messaging.models import Offer, OfferStatus
from messaging.selectors import accepted_offers_past_hold
from messaging.services import (
    conversation_get_or_create,
    message_post_system,
    offer_cancel,
    offer_lapse,
    offers_decline_open_for_product,
)
from payments.fees import compute_fees
from payments.gateway import idempotency_key, is_outage, stripe_client
from payments.locks import transaction_for_update, transaction_locked
from payments.models import (
    PAYOUT_NOT_YET_SENT,
    SALE_STANDS,
    ConnectAccount,
    FailureReason,
    PayoutBlock,
    PayoutStatus,
    SaleSource,
    SellerDebt,
    StripeEvent,
    Transaction,
    TransactionStatus,
)
from payments.selectors import lot_sale
from soukloop import events
from soukloop.errors import Conflict, DomainError, NotFound, PermissionDenied, ServiceUnavailable, ValidationError
from soukloop.money import from_fils, quantize_aed, to_fils

logger = logging.getLogger(__name__)

OPEN_STATUSES = (TransactionStatus.PENDING, *SALE_STANDS)


class PaymentRejected(DomainError):
    """Stripe answered and refused (a card or request error): final for this request."""

    status_code = 402
    default_code = "payment_rejected"


def _provider_unavailable(exc: Exception, *, action: str, object_id: object) -> DomainError:
    """503 ``payment_provider_unavailable`` only for outages (no answer, timeout, 429, 5xx);
    a card or invalid-request error is a 4xx carrying Stripe's code and message."""
    # The exception class only in logs: Stripe messages may echo request data.
    logger.warning("stripe %s failed for %s: %s", action, object_id, type(exc).__name__)
    if isinstance(exc, stripe.StripeError) and not is_outage(exc):
        code = getattr(exc, "code", None) or "stripe_error"
        message = getattr(exc, "user_message", None) or str(getattr(exc, "_message", "") or "") or code
        if isinstance(exc, stripe.CardError):
            return PaymentRejected(message, code=code)
        return ValidationError(message, code=code)
    return ServiceUnavailable(
        _("The payment provider is unavailable. Try again shortly."), code="payment_provider_unavailable"
    )


# --- Stripe Connect onboarding ---------------------------------------------------------------


def _sync_account_fields(record: ConnectAccount, account: dict[str, Any]) -> None:
    requirements = account.get("requirements") or {}
    record.charges_enabled = bool(account.get("charges_enabled"))
    record.payouts_enabled = bool(account.get("payouts_enabled"))
    record.details_submitted = bool(account.get("details_submitted"))
    record.transfers_capability = str((account.get("capabilities") or {}).get("transfers") or "")[:20]
    record.disabled_reason = requirements.get("disabled_reason") or ""
    record.requirements_due = sorted(
        set(requirements.get("currently_due") or []) | set(requirements.get("past_due") or [])
    )


def _apply_onboarding_to_user_and_payouts(record: ConnectAccount) -> None:
    user_set_payout_account(
        user_id=record.user_id,
        stripe_account_id=record.stripe_account_id,
        onboarded=record.charges_enabled and record.payouts_enabled,
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


def connect_account_refresh_if_stale(*, user: User) -> None:
    """Read the seller's account from Stripe when our copy is older than
    ``CONNECT_REFRESH_SECONDS``: a missed ``account.updated`` cannot block payouts for ever.
    Best effort: with Stripe unreachable the local copy stands."""
    cutoff = timezone.now() - timedelta(seconds=settings.CONNECT_REFRESH_SECONDS)
    record = ConnectAccount.objects.filter(user=user, updated_at__lt=cutoff).first()
    if record is None:
        return
    try:
        account = stripe_client().v1.accounts.retrieve(record.stripe_account_id).to_dict()
    except stripe.StripeError as exc:
        logger.info("connect status not refreshed for %s: %s", user.pk, type(exc).__name__)
        return
    with transaction.atomic():
        locked = ConnectAccount.objects.select_for_update().get(pk=record.pk)
        _sync_account_fields(locked, account)
        locked.save()
        _apply_onboarding_to_user_and_payouts(locked)


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


def _refuse_if_held_for_another(*, product: Product, buyer: User) -> None:
    """Checkouts are answered by the caller with their own codes; what else may hold the item
    (an accepted offer within its hold, a running auction lot) is asked of catalog.holds."""
    hold = product_held_for_someone_else(product_id=product.pk, buyer_id=buyer.pk)
    if hold is not None and hold.kind == "accepted_offer":
        raise Conflict(_("The seller has accepted another buyer's offer on this item."), code="product_reserved")
    if hold is not None and hold.kind != "checkout":
        raise Conflict(_("This item is reserved for another buyer right now."), code="product_reserved")


def _check_amount(amount: Any) -> None:
    """Stripe refuses AED charges under 2.00 or over 8 digits of fils: say so before asking it."""
    if not (settings.PAYMENT_MIN_AMOUNT <= amount <= settings.PAYMENT_MAX_AMOUNT):
        raise ValidationError(
            _("Payments must be between AED %(min)s and AED %(max)s.")
            % {"min": settings.PAYMENT_MIN_AMOUNT, "max": settings.PAYMENT_MAX_AMOUNT},
            code="amount_out_of_range",
            attr="amount",
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
    product = product_for_update(product_id=product_id, visible_only=True)
    if product is None:
        raise NotFound(_("Listing not found."), code="product_not_found")
    if offer is not None:
        # Lock the offer too (after the product, the order offer moves use), so the lapse of
        # an unpaid accepted offer and its checkout cannot both go through.
        offer = offer_for_update(offer_id=offer.pk)
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
    _refuse_if_held_for_another(product=product, buyer=buyer)
    open_for_buyer = Transaction.objects.filter(buyer=buyer, status=TransactionStatus.PENDING).count()
    if open_for_buyer >= settings.MAX_OPEN_CHECKOUTS:
        raise Conflict(_("Finish or cancel one of your checkouts in progress first."), code="too_many_open_checkouts")
    fees = compute_fees(
        amount=offer.agreed_price if offer else product.price,
        feed_type=product.feed_type,
        percent=offer.fee_percent if offer else None,  # a live lot's second chance: the live rate
    )
    _check_amount(fees.amount)
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


@transaction.atomic
def sale_reserve_for_lot(
    *, buyer_id: Any, product_id: Any, amount: Decimal, source_id: Any, pay_by: datetime
) -> Transaction | None:
    """The winner's pending transaction, made at the hammer (the auction app calls it under the
    lot's row lock): the winning price at the live-show fee rate (``PLATFORM_FEE_PERCENT_LIVE``),
    holding the item for the winner until ``pay_by``. Idempotent per lot (``source_id``); the
    partial unique constraint ``payments_tx_one_live_sale_per_source`` is the backstop.

    ``None`` when the item cannot be sold to them (already sold, or another sale holds it: the
    lot's own hold should have prevented that; logged)."""
    existing = (
        Transaction.objects.filter(source=SaleSource.AUCTION, source_id=source_id)
        .exclude(status=TransactionStatus.FAILED)
        .first()
    )
    if existing is not None:
        return existing
    product = product_locked(product_id=product_id)
    if not product.is_available or Transaction.objects.filter(product_id=product_id, status__in=OPEN_STATUSES).exists():
        logger.error("won lot %s: its item is sold or held by another sale", source_id)
        return None
    fees = compute_fees(amount=amount, feed_type=product.feed_type, percent=settings.PLATFORM_FEE_PERCENT_LIVE)
    return Transaction.objects.create(
        buyer_id=buyer_id,
        seller_id=product.seller_id,
        product=product,
        amount=fees.amount,
        currency=fees.currency,
        platform_fee=fees.platform_fee,
        seller_payout=fees.seller_payout,
        feed_type=product.feed_type,
        source=SaleSource.AUCTION,
        source_id=source_id,
        pay_by=pay_by,
    )


def _checkout_for_lot(*, buyer: User, auction_id: uuid.UUID) -> Transaction:
    """The pending transaction of a lot ``buyer`` won (made at the hammer), while it may be paid."""
    if not buyer.is_verified:
        raise PermissionDenied(_("Verify your phone number before you buy."), code="phone_not_verified")
    tx = (
        Transaction.objects.filter(source=SaleSource.AUCTION, source_id=auction_id, buyer=buyer)
        .order_by("-created_at")
        .first()
    )
    if tx is None:
        raise NotFound(_("You have not won this lot."), code="auction_not_won")
    if tx.status == TransactionStatus.PENDING and (tx.pay_by is None or tx.pay_by > timezone.now()):
        return tx
    if tx.failure_reason == FailureReason.LOT_VOIDED:
        raise Conflict(_("This lot was voided: nothing is owed for it."), code="auction_voided")
    if tx.status in (TransactionStatus.PENDING, TransactionStatus.FAILED):
        raise Conflict(_("The time to pay for this lot is over."), code="checkout_expired")
    raise Conflict(_("This lot is already paid for."), code="already_paid")


def checkout_start(
    *,
    buyer: User,
    product_id: uuid.UUID | None = None,
    offer_id: uuid.UUID | None = None,
    auction_id: uuid.UUID | None = None,
) -> Checkout:
    """Reserve the item for ``buyer`` and create (or find again) its PaymentIntent.

    Not one atomic block on purpose: the reservation commits first so competing buyers get
    409 at once, without waiting on Stripe; if Stripe then fails the reservation is removed.
    A won lot (``auction_id``) was reserved at the hammer; only its PaymentIntent is made here.
    """
    if sum(ref is not None for ref in (product_id, offer_id, auction_id)) != 1:
        raise ValidationError(_("Give one of product_id, offer_id or auction_id."), code="product_or_offer_required")
    if auction_id is not None:
        tx, created = _checkout_for_lot(buyer=buyer, auction_id=auction_id), False
    else:
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
                options={"idempotency_key": idempotency_key("checkout", tx.pk, tx.stripe_attempts)},
            )
    except stripe.StripeError as exc:
        # Delete the reservation only when Stripe answered "no". After a timeout or a dropped
        # connection the PaymentIntent may exist: the row stays pending, a retry gets the same
        # intent through the same idempotency key, and the reaper ends it if nobody returns.
        if created and not is_outage(exc):
            Transaction.objects.filter(pk=tx.pk, status=TransactionStatus.PENDING, stripe_payment_intent_id="").delete()
        elif is_outage(exc):
            # Stripe keeps a key's first answer (this error) for 24 h: the retry needs a new key.
            # An intent the lost attempt may have created is never confirmed, so moves no money.
            _bump_attempts(tx.pk)
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
        saved = Transaction.objects.filter(
            pk=tx.pk, status=TransactionStatus.PENDING, stripe_payment_intent_id__in=["", intent.id]
        ).update(stripe_payment_intent_id=intent.id, updated_at=timezone.now())
        if saved != 1:
            # The reservation is gone (reaped meanwhile, or its lot voided by staff): never hand
            # out a secret for money we could not record. Cancel the intent and say why.
            voided = Transaction.objects.filter(pk=tx.pk, failure_reason=FailureReason.LOT_VOIDED).exists()
            if voided:
                logger.info("checkout %s: its lot was voided while Stripe made the PaymentIntent", tx.pk)
            else:
                logger.error("checkout %s vanished before its PaymentIntent was saved", tx.pk)
            with contextlib.suppress(stripe.StripeError):
                client.v1.payment_intents.cancel(intent.id)
            if voided:
                raise Conflict(_("This lot was voided: nothing is owed for it."), code="auction_voided")
            raise Conflict(_("This checkout expired. Start again."), code="checkout_expired")
        tx.stripe_payment_intent_id = intent.id
    return Checkout(transaction=tx, client_secret=intent.client_secret or "", created=created)


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
    # A won lot waits until its pay_by (AUCTION_PAY_MINUTES), any other checkout its hold.
    stale = Transaction.objects.filter(
        Q(pay_by__isnull=True, created_at__lt=cutoff) | Q(pay_by__isnull=False, pay_by__lte=now),
        status=TransactionStatus.PENDING,
    ).only("pk", "stripe_payment_intent_id", "source", "source_id", "buyer_id", "seller_id", "product_id")
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
        if updated:
            _publish_expired(tx)
        report.released += updated
    return report


def _publish_expired(tx: Transaction) -> None:
    """A reserved sale ended unpaid: the app it came from (a won lot) learns of it."""
    if tx.source == SaleSource.LISTING:
        return
    events.publish(
        "transaction.expired",
        channel=None,
        data={
            "transaction_id": str(tx.pk),
            "source": tx.source,
            "source_id": str(tx.source_id),
            "buyer_id": str(tx.buyer_id),
            "seller_id": str(tx.seller_id),
            "product_id": str(tx.product_id),
            "product_title": Product.objects.filter(pk=tx.product_id).values_list("title", flat=True).first() or "",
        },
    )


def _cancel_intent_for_void(tx: Transaction) -> None:
    """Cancel the sale's PaymentIntent, or refuse when its money is already on the way."""
    client = stripe_client()
    try:
        client.v1.payment_intents.cancel(
            tx.stripe_payment_intent_id,
            # A fresh key per attempt: Stripe keeps a key's first answer, an outage's too, and a
            # cancel repeated is harmless (the intent is found cancelled below).
            options={"idempotency_key": idempotency_key("lot-void-cancel", tx.pk, uuid.uuid4().hex[:12])},
        )
        return
    except stripe.InvalidRequestError:
        # Stripe refuses to cancel an intent that succeeded or is processing (or was cancelled).
        try:
            status = client.v1.payment_intents.retrieve(tx.stripe_payment_intent_id).status
        except stripe.StripeError as exc:
            raise _provider_unavailable(exc, action="void_cancel", object_id=tx.pk) from exc
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="void_cancel", object_id=tx.pk) from exc
    if status != "canceled":
        raise Conflict(
            _("The winner's payment is going through: refund it once it completes, then void the lot."),
            code="lot_payment_in_progress",
        )


@transaction.atomic
def sale_cancel_for_voided_lot(*, source_id: Any) -> Transaction | None:
    """Staff void a closed auction lot (e.g. shill bidding): its sale must not be paid.

    A sale still awaiting payment is cancelled (its PaymentIntent too) and ends ``failed`` with
    ``lot_voided``: nothing is owed, the listing's hold ends, and it is no strike against the
    winner. A sale already failed or refunded is left as it is. A sale that was paid is refused
    (409 ``lot_paid``): staff refund it first (the refund path handles payouts already sent),
    then void. ``None``: the lot made no sale. Idempotent under the transaction's row lock."""
    sale = lot_sale(source_id=source_id)
    if sale is None:
        return None
    tx = transaction_for_update(transaction_id=sale.pk)
    if tx is None:
        return None
    if tx.status in (TransactionStatus.FAILED, TransactionStatus.REFUNDED):
        return tx
    if tx.status != TransactionStatus.PENDING:
        raise Conflict(_("The winner has paid for this lot: refund the payment first, then void it."), code="lot_paid")
    if tx.stripe_payment_intent_id:
        _cancel_intent_for_void(tx)
    tx.status = TransactionStatus.FAILED
    tx.failure_reason = FailureReason.LOT_VOIDED
    tx.save(update_fields=["status", "failure_reason", "updated_at"])
    logger.info("sale %s cancelled: its lot was voided", tx.pk)
    return tx


# A checkout in one of these states pays (or paid) for its accepted offer: the offer stays.
_OFFER_PAID_STATUSES = (
    TransactionStatus.PENDING,
    TransactionStatus.COMPLETED,
    TransactionStatus.PARTIALLY_REFUNDED,
    TransactionStatus.DISPUTED,
)


def offers_lapse_unpaid_accepted(*, now: datetime | None = None) -> int:
    """An accepted offer holds its listing for its buyer for ``ACCEPTED_OFFER_HOLD_HOURS``
    (messaging's window); left unpaid after that (no checkout paying for it), messaging lapses
    it so the listing takes offers and list-price buyers again. Payments runs it because only
    payments knows whether a checkout pays for the offer. Each offer in its own transaction,
    under the product then the offer row lock (the order checkout takes them in), so an offer
    and its checkout never both go through. Idempotent (``release_checkouts`` runs it)."""
    now = now or timezone.now()
    lapsed = 0
    for offer_id, product_id in accepted_offers_past_hold(now=now):
        with transaction.atomic():
            product_locked(product_id=product_id)
            offer = offer_for_update(offer_id=offer_id)
            if offer.status != OfferStatus.ACCEPTED:
                continue
            if Transaction.objects.filter(offer_id=offer_id, status__in=_OFFER_PAID_STATUSES).exists():
                continue
            lapsed += offer_lapse(offer=offer, now=now)
    return lapsed


# --- Buyer protection: payouts ----------------------------------------------------------------


def seller_share(tx: Transaction) -> Decimal:
    """What the seller is owed from what the platform keeps of this payment.

    Kept = amount - refunded - lost to a dispute. The fee is recomputed proportionally on the
    kept amount (half-up to the fils): a partial refund reduces the fee and the payout in
    proportion, and a full refund or a lost dispute leaves the seller nothing."""
    kept = tx.amount - tx.amount_refunded - tx.amount_disputed_lost
    if kept <= 0:
        return Decimal("0.00")
    fee_kept = quantize_aed(tx.platform_fee * kept / tx.amount)
    return kept - fee_kept


def _seller_has_debt(seller_id: Any) -> bool:
    return SellerDebt.objects.filter(seller_id=seller_id, settled_at__isnull=True).exists()


def _payout_block(tx: Transaction) -> tuple[str, ConnectAccount | None]:
    if tx.held_for_claim:
        return PayoutBlock.CLAIM_OPEN, None
    if tx.status == TransactionStatus.DISPUTED:
        return PayoutBlock.DISPUTED, None
    if _seller_has_debt(tx.seller_id):
        return PayoutBlock.SELLER_DEBT, None
    account = ConnectAccount.objects.filter(user_id=tx.seller_id).first()
    if account is None or not account.payouts_enabled:
        return PayoutBlock.SELLER_NOT_ONBOARDED, None
    if not account.transfers_active:
        return PayoutBlock.NO_TRANSFER_CAPABILITY, None
    return PayoutBlock.NONE, account


def _existing_transfer(tx: Transaction) -> dict[str, Any] | None:
    """A transfer Stripe already made for this transaction (its transfer_group): a retry after
    any delay, or after a commit that failed once Stripe had answered, adopts it."""
    found = stripe_client().v1.transfers.list(params={"transfer_group": str(tx.pk), "limit": 3})
    for transfer in found.data:
        metadata: Mapping[str, Any] = transfer.to_dict().get("metadata") or {}
        if metadata.get("transaction_id") == str(tx.pk):
            return transfer.to_dict()
    return None


def _release_locked(tx: Transaction) -> Transaction:
    """Transfer the seller's share of a locked transaction whose sale stands, or record why it waits."""
    if tx.payout_status not in PAYOUT_NOT_YET_SENT or tx.status not in SALE_STANDS:
        return tx
    blocked, account = _payout_block(tx)
    if not blocked and not tx.stripe_charge_id:
        # A transfer without source_transaction would draw on the platform balance before the
        # buyer's funds are available; wait for the charge id (set by payment_intent.succeeded).
        logger.error("payout of %s waits: no charge id to transfer from", tx.pk)
        return tx
    if blocked or account is None:
        if tx.payout_blocked_reason != blocked:
            tx.payout_blocked_reason = blocked
            tx.save(update_fields=["payout_blocked_reason", "updated_at"])
        return tx
    amount = seller_share(tx)
    if amount > 0:
        try:
            transfer = _existing_transfer(tx)
            if transfer is None:
                transfer = (
                    stripe_client()
                    .v1.transfers.create(
                        params={
                            "amount": to_fils(amount),
                            "currency": tx.currency.lower(),
                            "destination": account.stripe_account_id,
                            "transfer_group": str(tx.pk),
                            "source_transaction": tx.stripe_charge_id,
                            "metadata": {"transaction_id": str(tx.pk)},
                        },
                        options={"idempotency_key": idempotency_key("payout", tx.pk, tx.stripe_attempts)},
                    )
                    .to_dict()
                )
        except stripe.StripeError as exc:
            raise _provider_unavailable(exc, action="transfer", object_id=tx.pk) from exc
        tx.stripe_transfer_id = transfer["id"]
        tx.amount_transferred = from_fils(int(transfer["amount"]))
    tx.payout_status = PayoutStatus.RELEASED
    tx.payout_released_at = timezone.now()
    tx.payout_blocked_reason = PayoutBlock.NONE
    tx.save(
        update_fields=[
            "payout_status",
            "payout_released_at",
            "payout_blocked_reason",
            "stripe_transfer_id",
            "amount_transferred",
            "updated_at",
        ]
    )
    events.publish(
        "payout.released",
        channel=None,
        data={"transaction_id": str(tx.pk), "seller_id": str(tx.seller_id), "amount": str(tx.amount_transferred)},
    )
    return tx


def _bump_attempts(transaction_id: Any) -> None:
    """A Stripe write failed: the next attempt gets a new idempotency key (the failed answer
    stays stored under the old one). Committed on its own, after the failed transaction."""
    Transaction.objects.filter(pk=transaction_id).update(stripe_attempts=F("stripe_attempts") + 1)


def payout_release(*, transaction_id: uuid.UUID) -> Transaction:
    """Release one held payout now (if nothing blocks it). Safe to call again."""
    try:
        return _payout_release_locked(transaction_id=transaction_id)
    except DomainError:
        _bump_attempts(transaction_id)
        raise


@transaction.atomic
def _payout_release_locked(*, transaction_id: uuid.UUID) -> Transaction:
    return _release_locked(transaction_locked(transaction_id=transaction_id))


def _may_refund_as_staff(user: User) -> bool:
    """Refunding someone's payment from the API is for staff holding the change permission (or
    superusers); a moderator who may only look at transactions is a stranger here."""
    return bool(user.is_staff and user.has_perm("payments.change_transaction"))


def _own_transaction_locked(*, transaction_id: uuid.UUID, user: User, staff_may_act: bool = False) -> Transaction:
    """The buyer's or seller's transaction (locked); anyone else gets 404, never a hint it exists,
    except staff with the right permission when ``staff_may_act``."""
    tx = transaction_for_update(transaction_id=transaction_id)
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
        if tx.status not in SALE_STANDS:
            if tx.status in (TransactionStatus.REFUNDED, TransactionStatus.DISPUTED_LOST):
                raise Conflict(_("This payment was refunded."), code="payout_cancelled")
            raise Conflict(_("This payment has not been completed."), code="transaction_not_completed")
        if tx.payout_status == PayoutStatus.CANCELLED:
            raise Conflict(_("This payment was refunded."), code="payout_cancelled")
        if tx.receipt_confirmed_at is None:
            tx.receipt_confirmed_at = timezone.now()
            tx.save(update_fields=["receipt_confirmed_at", "updated_at"])
    try:
        return payout_release(transaction_id=tx.pk)
    except DomainError:
        # Stripe down or refusing: the confirmation stands, the payout waits for release_payouts.
        tx.refresh_from_db()
        return tx


@dataclass
class PayoutReleaseReport:
    released: int = 0
    waiting: int = 0
    unclaimed_refunded: int = 0
    errors: list[str] = field(default_factory=list)


def _refund_unclaimed_locked(tx: Transaction) -> bool:
    """A seller who never onboarded cannot be paid: after ``UNCLAIMED_PAYOUT_DAYS`` the buyer
    gets what is left back instead of the platform holding it for ever."""
    if tx.payout_status not in PAYOUT_NOT_YET_SENT or tx.payout_blocked_reason != PayoutBlock.SELLER_NOT_ONBOARDED:
        return False
    if tx.held_for_claim:  # a claim decides this money
        return False
    left = tx.amount - tx.amount_refunded
    try:
        if _refunded_at_stripe(tx) < tx.amount:
            stripe_client().v1.refunds.create(
                params={
                    "payment_intent": tx.stripe_payment_intent_id,
                    "amount": to_fils(left),
                    "metadata": {"transaction_id": str(tx.pk), "reason": "unclaimed_payout"},
                },
                options={"idempotency_key": idempotency_key("unclaimed-refund", tx.pk, uuid.uuid4().hex[:12])},
            )
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="refund", object_id=tx.pk) from exc
    _apply_refund_total(tx, total=tx.amount)
    logger.warning("payout of %s unclaimed for %s days: refunded to the buyer", tx.pk, settings.UNCLAIMED_PAYOUT_DAYS)
    return True


def payouts_refund_unclaimed(*, now: datetime | None = None) -> int:
    """Refund the buyers of sales whose seller never onboarded within ``UNCLAIMED_PAYOUT_DAYS``."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.UNCLAIMED_PAYOUT_DAYS)
    due = Transaction.objects.filter(
        completed_at__lte=cutoff,
        status__in=[TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED],
        payout_status__in=PAYOUT_NOT_YET_SENT,
        payout_blocked_reason=PayoutBlock.SELLER_NOT_ONBOARDED,
        held_for_claim=False,
    ).values_list("pk", flat=True)
    refunded = 0
    for pk in list(due):
        with transaction.atomic():
            refunded += _refund_unclaimed_locked(transaction_locked(transaction_id=pk))
    return refunded


def payouts_release_due(*, now: datetime | None = None) -> PayoutReleaseReport:
    """Release payouts whose hold has passed (PAYOUT_HOLD_DAYS after payment) or whose buyer
    confirmed receipt. Disputed and refunded ones are never released. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PAYOUT_HOLD_DAYS)
    due = Transaction.objects.filter(
        Q(completed_at__lte=cutoff) | Q(receipt_confirmed_at__isnull=False),
        status__in=[TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED],
        payout_status__in=PAYOUT_NOT_YET_SENT,
        held_for_claim=False,  # re-checked under the row lock in _release_locked
    ).values_list("pk", flat=True)
    report = PayoutReleaseReport()
    try:
        report.unclaimed_refunded = payouts_refund_unclaimed(now=now)
    except DomainError as exc:
        report.errors.append(f"unclaimed refunds: {exc.code}")
    for pk in list(due):
        try:
            tx = payout_release(transaction_id=pk)
        except DomainError as exc:  # an outage, or Stripe refusing this one: the others go on
            report.errors.append(f"{pk}: {exc.code}")
            continue
        if tx.payout_status == PayoutStatus.RELEASED:
            report.released += 1
        else:
            report.waiting += 1
    return report


# --- Refunds, reversals, seller debt ---------------------------------------------------------


def _reverse_to_target(tx: Transaction, *, why: str) -> None:
    """After the payout was released: take back from the seller what they no longer keep
    (``POST /v1/transfers/{id}/reversals``). A reversal Stripe refuses for the seller's
    balance becomes a ``SellerDebt`` that blocks their further payouts; an outage raises
    (nothing is recorded, the caller retries)."""
    target = seller_share(tx)
    outstanding = tx.amount_transferred - tx.amount_reversed - target
    if outstanding <= 0 or not tx.stripe_transfer_id:
        return
    try:
        reversal = stripe_client().v1.transfers.reversals.create(
            tx.stripe_transfer_id,
            params={"amount": to_fils(outstanding), "metadata": {"transaction_id": str(tx.pk), "reason": why}},
            options={"idempotency_key": idempotency_key("reversal", tx.pk, to_fils(tx.amount_reversed + outstanding))},
        )
    except stripe.StripeError as exc:
        if is_outage(exc):
            raise _provider_unavailable(exc, action="reversal", object_id=tx.pk) from exc
        # e.g. balance_insufficient: the seller already paid the money out of Stripe.
        logger.error("reversal of %s refused (%s): recorded as seller debt", tx.pk, getattr(exc, "code", ""))
        SellerDebt.objects.create(seller_id=tx.seller_id, transaction=tx, amount=outstanding, reason=why[:200])
    else:
        tx.amount_reversed += from_fils(int(reversal.amount))
    tx.payout_status = PayoutStatus.REVERSED if target == 0 else PayoutStatus.PARTIALLY_REVERSED


def _settle_after_loss(tx: Transaction, *, why: str) -> None:
    """The platform keeps less of this payment (a refund or a lost dispute): shrink the payout
    that has not gone yet, or reverse what went."""
    if tx.payout_status in PAYOUT_NOT_YET_SENT:
        tx.payout_status = PayoutStatus.CANCELLED if seller_share(tx) == 0 else PayoutStatus.REDUCED
        if tx.payout_status == PayoutStatus.CANCELLED:
            tx.payout_blocked_reason = PayoutBlock.NONE
    elif tx.payout_status in (PayoutStatus.RELEASED, PayoutStatus.PARTIALLY_REVERSED):
        _reverse_to_target(tx, why=why)


_LEDGER_FIELDS = [
    "status",
    "payout_status",
    "payout_blocked_reason",
    "amount_refunded",
    "amount_reversed",
    "amount_disputed_lost",
    "refunded_at",
    "stripe_refund_id",
    "updated_at",
]


def _apply_refund_total(tx: Transaction, *, total: Decimal, refund_id: str = "") -> None:
    """Record that ``total`` (cumulative) has been refunded to the buyer, and follow it with the
    payout. Smaller than what is recorded: nothing to do (a late or duplicate event). Never more
    than what was not already lost to a dispute: the same money cannot leave twice."""
    total = min(total, tx.amount - tx.amount_disputed_lost)
    if total <= tx.amount_refunded:
        return
    tx.amount_refunded = total
    tx.refunded_at = timezone.now()
    if refund_id:
        tx.stripe_refund_id = refund_id
    if tx.status != TransactionStatus.DISPUTED:
        fully = tx.amount_refunded >= tx.amount
        tx.status = TransactionStatus.REFUNDED if fully else TransactionStatus.PARTIALLY_REFUNDED
    _settle_after_loss(tx, why="refund")
    tx.save(update_fields=_LEDGER_FIELDS)
    if tx.status == TransactionStatus.REFUNDED:
        # Whatever path refunded it (the seller's button, a claim, Stripe's dashboard): the apps
        # above settle what depended on the sale (trust closes an open claim).
        events.publish("transaction.refunded", channel=None, data={"transaction_id": str(tx.pk)})


def _refunded_at_stripe(tx: Transaction) -> Decimal:
    """What Stripe has refunded on this payment so far (a retry after any delay sees it)."""
    found = stripe_client().v1.refunds.list(params={"payment_intent": tx.stripe_payment_intent_id, "limit": 100})
    return from_fils(sum(int(r.amount) for r in found.data if r.status in ("succeeded", "pending")))


@transaction.atomic
def transaction_refund(
    *,
    transaction_id: uuid.UUID,
    by: User,
    amount: Decimal | None = None,
    reason: str = "",
    relist: bool = True,
) -> Transaction:
    """Refund ``amount`` (default: all that is left) of a completed payment, seller or staff.

    Before the payout is released the payout shrinks (or is cancelled); after, the seller's
    part of the refund is reversed from their Stripe balance (docs/payments.md has the ledger).
    A full refund relists the item and cancels the accepted offer unless ``relist`` is false.
    """
    tx = _own_transaction_locked(transaction_id=transaction_id, user=by, staff_may_act=True)
    if not (tx.seller_id == by.pk or _may_refund_as_staff(by)):
        raise PermissionDenied(_("Only the seller or staff can refund a payment."), code="refund_not_allowed")
    return _refund_locked(tx, by_id=by.pk, amount=amount, reason=reason, relist=relist)


def _refund_locked(tx: Transaction, *, by_id: Any, amount: Decimal | None, reason: str, relist: bool) -> Transaction:
    """Refund ``amount`` (default: all that is left) of a locked, completed payment."""
    if tx.status == TransactionStatus.REFUNDED:
        raise Conflict(_("This payment has already been refunded."), code="already_refunded")
    if tx.status == TransactionStatus.DISPUTED:
        raise Conflict(_("The buyer's bank is handling a dispute on this payment."), code="transaction_disputed")
    if tx.status not in (TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED):
        raise Conflict(_("This payment has not been completed."), code="transaction_not_completed")
    remaining = tx.amount - tx.amount_refunded
    amount = quantize_aed(amount) if amount is not None else remaining
    if amount <= 0 or amount > remaining:
        raise ValidationError(
            _("Refund between AED 0.01 and AED %(left)s.") % {"left": remaining},
            code="invalid_refund_amount",
            attr="amount",
        )
    target = tx.amount_refunded + amount
    try:
        if _refunded_at_stripe(tx) >= target:
            refund_id = tx.stripe_refund_id  # an earlier attempt went through: adopt it
        else:
            refund = stripe_client().v1.refunds.create(
                params={
                    "payment_intent": tx.stripe_payment_intent_id,
                    "amount": to_fils(amount),
                    "metadata": {"transaction_id": str(tx.pk), "reason": (reason or "")[:200]},
                },
                # Looked up first (above), so a fresh key per attempt never refunds twice, and a
                # stored failure under an old key never blocks the retry.
                options={"idempotency_key": idempotency_key("refund", tx.pk, uuid.uuid4().hex[:12])},
            )
            refund_id = refund.id
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="refund", object_id=tx.pk) from exc
    _apply_refund_total(tx, total=target, refund_id=refund_id)
    if tx.status == TransactionStatus.REFUNDED and relist:
        _relist_after_refund(tx)
    logger.info("refund %s of %s by %s", amount, tx.pk, by_id)
    return tx


# --- Claims (the app above payments decides; payments moves the money) -----------------------


def _claim_tx_locked(transaction_id: Any) -> Transaction:
    tx = transaction_for_update(transaction_id=transaction_id)
    if tx is None:
        raise NotFound(_("Transaction not found."), code="transaction_not_found")
    return tx


@transaction.atomic
def payout_hold_for_claim(*, transaction_id: uuid.UUID) -> Transaction:
    """Keep this sale's payout held while a buyer's claim is open (the caller checked who asks).

    Only a payout not sent yet can be held: 409 ``payout_released`` otherwise, and 409
    ``transaction_not_completed`` for a sale that does not stand (refunded, failed...)."""
    tx = _claim_tx_locked(transaction_id)
    if tx.status not in SALE_STANDS:
        raise Conflict(_("This payment has not been completed."), code="transaction_not_completed")
    if tx.payout_status not in PAYOUT_NOT_YET_SENT:
        if tx.payout_status == PayoutStatus.CANCELLED:
            raise Conflict(_("This payment was refunded."), code="payout_cancelled")
        raise Conflict(_("The seller has already been paid for this sale."), code="payout_released")
    if not tx.held_for_claim:
        tx.held_for_claim = True
        tx.payout_blocked_reason = PayoutBlock.CLAIM_OPEN
        tx.save(update_fields=["held_for_claim", "payout_blocked_reason", "updated_at"])
    return tx


@transaction.atomic
def payout_unhold(*, transaction_id: uuid.UUID, release_now: bool = False) -> Transaction:
    """The claim is settled: the payout goes back to the normal hold (released by
    ``release_payouts`` when due), or now when ``release_now`` (a moderator released it to the
    seller). Safe to call again. Stripe down with ``release_now``: it stays held for later."""
    tx = _claim_tx_locked(transaction_id)
    if tx.held_for_claim:
        tx.held_for_claim = False
        if tx.payout_blocked_reason == PayoutBlock.CLAIM_OPEN:
            tx.payout_blocked_reason = PayoutBlock.NONE
        tx.save(update_fields=["held_for_claim", "payout_blocked_reason", "updated_at"])
    if release_now:
        try:
            with transaction.atomic():
                tx = _release_locked(tx)
        except DomainError:
            # Stripe down or refusing: the payout waits for release_payouts, under a new
            # idempotency key (the failed answer stays stored under this one).
            _bump_attempts(tx.pk)
            tx.refresh_from_db()
    return tx


@transaction.atomic
def transaction_refund_for_claim(
    *, transaction_id: uuid.UUID, by_id: Any, amount: Decimal | None = None, reason: str = ""
) -> Transaction:
    """Refund decided on a buyer's claim (the seller accepted, or a moderator decided): the
    caller has authorised it. The claim hold is lifted in the same DB transaction; a full
    refund relists the item."""
    tx = _claim_tx_locked(transaction_id)
    tx = _refund_locked(tx, by_id=by_id, amount=amount, reason=reason, relist=True)
    if tx.held_for_claim:
        tx.held_for_claim = False
        if tx.payout_blocked_reason == PayoutBlock.CLAIM_OPEN:
            tx.payout_blocked_reason = PayoutBlock.NONE
        tx.save(update_fields=["held_for_claim", "payout_blocked_reason", "updated_at"])
    return tx


def _relist_after_refund(tx: Transaction) -> None:
    """A fully refunded sale puts the item back on the market; its accepted offer is cancelled."""
    product_relist(product=Product.objects.get(pk=tx.product_id))
    if tx.offer_id:
        offer_cancel(offer=Offer.objects.get(pk=tx.offer_id), reason="refunded")


def _mark_refunded(tx: Transaction, *, refund_id: str = "") -> None:
    """The whole payment went back (a late payment for an item taken meanwhile)."""
    _apply_refund_total(tx, total=tx.amount, refund_id=refund_id)


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
    tx.stripe_payment_intent_id = intent_id
    try:
        if _refunded_at_stripe(tx) >= tx.amount:
            refund_id = tx.stripe_refund_id  # an earlier delivery's refund went through
        else:
            refund_id = (
                stripe_client()
                .v1.refunds.create(
                    params={"payment_intent": intent_id, "metadata": {"transaction_id": str(tx.pk)}},
                    options={"idempotency_key": idempotency_key("refund", tx.pk, uuid.uuid4().hex[:12])},
                )
                .id
            )
    except stripe.StripeError as exc:
        # Raising rolls the event record back, so Stripe's retry tries again.
        raise _provider_unavailable(exc, action="refund", object_id=tx.pk) from exc
    _mark_refunded(tx, refund_id=refund_id)
    return "refunded_late_payment"


def _refund_orphan_payment(intent: dict[str, Any]) -> str:
    """Money arrived that no transaction of ours can take (its row is gone, or never was):
    give it back at once and say so loudly (error log, and the event listed in the admin)."""
    intent_id = intent.get("id") or ""
    if not (intent.get("metadata") or {}).get("transaction_id"):
        return "unknown_transaction"  # not a Souk Loop checkout: nothing of ours to refund
    logger.error("payment %s succeeded with no transaction to honour it: refunding", intent_id)
    try:
        stripe_client().v1.refunds.create(
            params={"payment_intent": intent_id, "metadata": {"reason": "no_transaction"}},
            options={"idempotency_key": idempotency_key("orphan-refund", intent_id)},
        )
    except stripe.StripeError as exc:
        raise _provider_unavailable(exc, action="refund", object_id=intent_id) from exc
    return "refunded_orphan_payment"


def _payment_method_used(intent: dict[str, Any]) -> str:
    """The method the buyer actually paid with (the charge's ``payment_method_details.type``),
    not the list the intent allowed. Stripe unreachable: the allowed list's first, logged."""
    charge_id = intent.get("latest_charge")
    if isinstance(charge_id, str) and charge_id:
        try:
            details = stripe_client().v1.charges.retrieve(charge_id).to_dict().get("payment_method_details") or {}
            if details.get("type"):
                return str(details["type"])[:50]
        except stripe.StripeError as exc:
            logger.info("payment method of %s not read: %s", intent.get("id"), type(exc).__name__)
    return str((intent.get("payment_method_types") or [""])[0])[:50]


def _on_intent_succeeded(intent: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_intent(intent)
    if tx is None:
        return _refund_orphan_payment(intent)
    if intent.get("status") != "succeeded" or not _amount_matches(
        tx, fils=intent.get("amount_received"), currency=intent.get("currency")
    ):
        logger.error("payment_intent.succeeded for %s does not match the transaction", tx.pk)
        return "mismatch_ignored"
    if tx.status != TransactionStatus.PENDING and tx.status != TransactionStatus.FAILED:
        return f"already_{tx.status}"
    now = timezone.now()
    tx.stripe_payment_intent_id = intent["id"]
    tx.stripe_charge_id = intent.get("latest_charge") or tx.stripe_charge_id
    tx.payment_method = _payment_method_used(intent)
    tx.status = TransactionStatus.COMPLETED
    tx.completed_at = now
    tx.failure_reason = ""
    tx.last_payment_error = ""
    account = ConnectAccount.objects.filter(user_id=tx.seller_id).first()
    if tx.disputed_at is not None:
        tx.payout_blocked_reason = PayoutBlock.DISPUTED
    elif account is None or not account.can_receive_payouts:
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
    events.publish(
        "checkout.paid",
        channel=f"user:{tx.seller_id}",
        data={
            "transaction_id": str(tx.pk),
            "seller_id": str(tx.seller_id),
            "buyer_id": str(tx.buyer_id),
            "product_id": str(product.pk),
            "product_title": product.title,
            "amount": str(tx.amount),
            "currency": tx.currency,
        },
    )
    return "completed"


def _on_intent_failed(intent: dict[str, Any], event: dict[str, Any]) -> str:
    """A declined card is not the end: Stripe returns the intent to ``requires_payment_method``
    and the buyer may try another card on the same checkout. The transaction stays pending
    (the item held) with the decline code for the app; the hold's reaper ends it if nobody
    pays, and a cancelled intent (``payment_intent.canceled``) ends it at once."""
    tx = _tx_for_intent(intent)
    if tx is None:
        return "unknown_transaction"
    if tx.status != TransactionStatus.PENDING:
        return f"ignored_{tx.status}"  # out of order: a later success (or refund) decided it
    error = intent.get("last_payment_error") or {}
    tx.last_payment_error = str(error.get("decline_code") or error.get("code") or "card_declined")[:100]
    tx.stripe_payment_intent_id = intent["id"]
    tx.save(update_fields=["last_payment_error", "stripe_payment_intent_id", "updated_at"])
    return "payment_failed_kept_pending"


def _on_intent_canceled(intent: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_intent(intent)
    if tx is None:
        return "unknown_transaction"
    if tx.status != TransactionStatus.PENDING:
        return f"ignored_{tx.status}"
    if tx.pay_by is not None and tx.pay_by > timezone.now():
        # A won lot's intent cancelled (by Stripe, or the buyer's app) while the winner may
        # still pay: the lot stays theirs; the next checkout makes a new intent.
        if tx.stripe_payment_intent_id == intent.get("id"):
            tx.stripe_payment_intent_id = ""
            tx.stripe_attempts += 1
            tx.save(update_fields=["stripe_payment_intent_id", "stripe_attempts", "updated_at"])
        return "intent_cancelled_kept_pending"
    tx.status = TransactionStatus.FAILED
    tx.failure_reason = FailureReason.PAYMENT_FAILED if tx.last_payment_error else FailureReason.CHECKOUT_EXPIRED
    tx.save(update_fields=["status", "failure_reason", "updated_at"])
    _publish_expired(tx)
    return "failed"


def _on_charge_refunded(charge: dict[str, Any], event: dict[str, Any]) -> str:
    """A refund made here, in Stripe's dashboard, or by Stripe: the charge's cumulative
    ``amount_refunded`` is the truth; anything beyond what we recorded is applied (partial
    refunds shrink or reverse the payout like ours do)."""
    tx = _tx_for_charge(charge)
    if tx is None:
        return "unknown_transaction"
    if str(charge.get("currency", "")).lower() != tx.currency.lower():
        logger.error("charge.refunded for %s does not match the transaction", tx.pk)
        return "mismatch_ignored"
    refunded = charge.get("amount_refunded")
    if type(refunded) is not int or refunded < 0 or refunded > to_fils(tx.amount):
        logger.error("charge.refunded for %s has an impossible amount", tx.pk)
        return "mismatch_ignored"
    if tx.status == TransactionStatus.FAILED:
        return f"ignored_{tx.status}"
    total = from_fils(refunded)
    if total <= tx.amount_refunded:
        return "already_applied"
    refunds = (charge.get("refunds") or {}).get("data") or []
    _apply_refund_total(tx, total=total, refund_id=tx.stripe_refund_id or (refunds[0].get("id", "") if refunds else ""))
    return "refunded" if tx.status == TransactionStatus.REFUNDED else "partially_refunded"


def _on_refund_updated(refund: dict[str, Any], event: dict[str, Any]) -> str:
    """A refund that failed after it was accepted (``charge.refund.updated``, status failed):
    the money is back with the platform, so the buyer is not refunded. Finance must act."""
    if refund.get("status") != "failed":
        return "refund_updated"
    logger.error("refund %s failed at the bank: the buyer has not been repaid", refund.get("id"))
    return "refund_failed_alerted"


def _on_dispute_created(dispute: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_charge(dispute)
    if tx is None:
        return "unknown_transaction"
    if tx.disputed_at is not None:
        return "already_disputed"
    tx.disputed_at = _event_time(event) or timezone.now()
    tx.stripe_dispute_id = dispute.get("id") or ""
    if tx.status in (TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED):
        tx.status = TransactionStatus.DISPUTED
    if tx.payout_status in PAYOUT_NOT_YET_SENT:
        tx.payout_blocked_reason = PayoutBlock.DISPUTED
    tx.save(update_fields=["disputed_at", "stripe_dispute_id", "status", "payout_blocked_reason", "updated_at"])
    # After release nothing is clawed back yet: the seller's share is reversed if the dispute
    # is lost (charge.dispute.closed), and stays theirs if it is won.
    return "payout_frozen" if tx.payout_status in PAYOUT_NOT_YET_SENT else "dispute_recorded"


def _on_dispute_closed(dispute: dict[str, Any], event: dict[str, Any]) -> str:
    tx = _tx_for_charge(dispute)
    if tx is None:
        return "unknown_transaction"
    if tx.status != TransactionStatus.DISPUTED:
        return f"ignored_{tx.status}"
    if dispute.get("status") == "won":
        tx.status = TransactionStatus.PARTIALLY_REFUNDED if tx.amount_refunded > 0 else TransactionStatus.COMPLETED
        if tx.payout_blocked_reason == PayoutBlock.DISPUTED:
            tx.payout_blocked_reason = PayoutBlock.NONE  # the hold resumes; release_payouts takes it
        tx.save(update_fields=["status", "payout_blocked_reason", "updated_at"])
        return "dispute_won"
    if dispute.get("status") != "lost":
        return "dispute_closed_" + str(dispute.get("status"))[:30]
    lost = dispute.get("amount")
    lost_amount = from_fils(lost) if type(lost) is int and lost > 0 else tx.amount - tx.amount_refunded
    tx.amount_disputed_lost = min(lost_amount, tx.amount - tx.amount_refunded)
    tx.status = TransactionStatus.DISPUTED_LOST
    _settle_after_loss(tx, why="dispute lost")
    tx.save(update_fields=_LEDGER_FIELDS)
    return "dispute_lost"


def _on_dispute_funds(dispute: dict[str, Any], event: dict[str, Any]) -> str:
    """Stripe moved the disputed funds (withdrawn at opening, reinstated when won): recorded;
    the seller's side follows the dispute's outcome (charge.dispute.closed)."""
    tx = _tx_for_charge(dispute)
    return "unknown_transaction" if tx is None else "recorded"


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
    "payment_intent.canceled": _on_intent_canceled,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_refund_updated,
    "charge.dispute.created": _on_dispute_created,
    "charge.dispute.closed": _on_dispute_closed,
    "charge.dispute.funds_withdrawn": _on_dispute_funds,
    "charge.dispute.funds_reinstated": _on_dispute_funds,
    "account.updated": _on_account_updated,
}
# Connect events come to their own endpoint, signed with their own secret.
CONNECT_WEBHOOK_HANDLERS = {"account.updated": _on_account_updated}
# Recorded but not acted on: a redelivery (after a fix, or once the row exists) is applied.
NOT_APPLIED = {"unknown_transaction", "unknown_account", "mismatch_ignored", "unhandled_type"}


def webhook_verify(*, payload: bytes, signature: str | None, connect: bool = False) -> dict[str, Any]:
    """The event, if the Stripe-Signature header signs this exact body within the tolerance
    (with the Connect endpoint's own secret when ``connect``)."""
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET if connect else settings.STRIPE_WEBHOOK_SECRET
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature or "",
            secret,
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
def webhook_event_apply(*, event: dict[str, Any], connect: bool = False) -> str:
    """Apply one verified event exactly once: its record and its effects commit together.

    An event recorded earlier without effect (``NOT_APPLIED`` outcomes) is tried again when
    Stripe redelivers it, so a fix or a late row can still act on it; an applied one is a
    ``duplicate``."""
    obj = event["data"]["object"]
    event_id = str(event["id"])[:255]
    record = StripeEvent.objects.select_for_update().filter(event_id=event_id).first()
    if record is not None and record.applied:
        return "duplicate"
    if record is None:
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(
                    event_id=event_id,
                    type=str(event["type"])[:100],
                    object_id=str(obj.get("id") or "")[:255],
                    stripe_created_at=_event_time(event),
                )
        except IntegrityError:
            return "duplicate"  # the same event, at the same moment, on another worker
    handlers = CONNECT_WEBHOOK_HANDLERS if connect else WEBHOOK_HANDLERS
    handler = handlers.get(event["type"])
    outcome = handler(obj, event) if handler else "unhandled_type"
    applied = outcome not in NOT_APPLIED
    if not applied:
        logger.warning("stripe event %s not applied: %s", event_id, outcome)
    StripeEvent.objects.filter(pk=record.pk).update(outcome=outcome, applied=applied)
    return outcome
