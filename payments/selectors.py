from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from catalog.holds import Hold
from payments.models import (
    ConnectAccount,
    FailureReason,
    PayoutBlock,
    PayoutStatus,
    SaleSource,
    Transaction,
    TransactionStatus,
)


def transactions_for_user(*, user: User, role: str | None = None) -> QuerySet[Transaction]:
    """The user's purchases and sales (``role`` = buyer/seller narrows it), newest first."""
    if role == "buyer":
        mine = Q(buyer=user)
    elif role == "seller":
        mine = Q(seller=user)
    else:
        mine = Q(buyer=user) | Q(seller=user)
    return Transaction.objects.filter(mine).select_related("product", "buyer", "seller").order_by("-created_at", "-id")


@dataclass(frozen=True)
class ConnectStatus:
    account_created: bool
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    disabled_reason: str
    requirements_due: list[str]
    payouts_waiting_count: int
    payouts_waiting_amount: Decimal
    payouts_waiting_reason: str


def connect_status(*, user: User) -> ConnectStatus:
    """Where the seller stands with Stripe, and how much is waiting for them and why."""
    account = ConnectAccount.objects.filter(user=user).first()
    waiting = Transaction.objects.filter(
        seller=user, status=TransactionStatus.COMPLETED, payout_status=PayoutStatus.HELD
    ).aggregate(
        count=Count("id"),
        amount=Sum("seller_payout"),
        not_onboarded=Count("id", filter=Q(payout_blocked_reason=PayoutBlock.SELLER_NOT_ONBOARDED)),
    )
    payouts_enabled = bool(account and account.payouts_enabled)
    reason = ""
    if waiting["count"] and not payouts_enabled:
        reason = PayoutBlock.SELLER_NOT_ONBOARDED
    return ConnectStatus(
        account_created=account is not None,
        charges_enabled=bool(account and account.charges_enabled),
        payouts_enabled=payouts_enabled,
        details_submitted=bool(account and account.details_submitted),
        disabled_reason=account.disabled_reason if account else "",
        requirements_due=list(account.requirements_due) if account else [],
        payouts_waiting_count=waiting["count"],
        payouts_waiting_amount=waiting["amount"] or Decimal("0.00"),
        payouts_waiting_reason=reason,
    )


def checkout_hold(product_id: Any, now: datetime) -> Hold | None:
    """The hold source for ``catalog.holds``: a checkout in progress (until the reaper frees
    it, ``CHECKOUT_HOLD_MINUTES`` after it began)."""
    tx = (
        Transaction.objects.filter(product_id=product_id, status=TransactionStatus.PENDING)
        .only("pk", "buyer_id", "created_at", "pay_by")
        .first()
    )
    if tx is None:
        return None
    until = tx.pay_by or tx.created_at + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    return Hold(kind="checkout", buyer_id=tx.buyer_id, until=until, ref=tx.pk)


def payouts_overdue_count(*, now: datetime | None = None, grace: timedelta = timedelta(hours=1)) -> int:
    """Payouts that ``release_payouts`` should have sent more than ``grace`` ago (not held by a
    claim): above zero for long, the release job is not running or Stripe refuses transfers."""
    from django.utils import timezone

    cutoff = (now or timezone.now()) - timedelta(days=settings.PAYOUT_HOLD_DAYS) - grace
    return Transaction.objects.filter(
        completed_at__lte=cutoff,
        status__in=[TransactionStatus.COMPLETED, TransactionStatus.PARTIALLY_REFUNDED],
        payout_status__in=(PayoutStatus.HELD, PayoutStatus.REDUCED),
        held_for_claim=False,
    ).count()


def lot_sale(*, source_id: Any) -> Transaction | None:
    """The sale made at a lot's hammer (its latest, if the winner's ended unpaid)."""
    return Transaction.objects.filter(source=SaleSource.AUCTION, source_id=source_id).order_by("-created_at").first()


def lot_buyers_with_unpaid(*, buyer_ids: Iterable[Any], last: int, since: datetime) -> set[Any]:
    """Which of ``buyer_ids`` left unpaid one of their last ``last`` won lots (since
    ``since``): ``lot_sales_unpaid`` > 0, for many buyers in one query (each buyer's sales
    numbered newest first, the first ``last`` read)."""
    buyer_ids = list(buyer_ids)
    if not buyer_ids or last <= 0:
        return set()
    newest_first = Window(RowNumber(), partition_by=[F("buyer_id")], order_by=F("created_at").desc())
    recent = (
        Transaction.objects.filter(source=SaleSource.AUCTION, buyer_id__in=buyer_ids, created_at__gte=since)
        .exclude(failure_reason=FailureReason.LOT_VOIDED)  # a voided lot was never theirs to pay
        .annotate(rank=newest_first)
        .filter(rank__lte=last)  # alone: a status filter here would be applied before the numbering
        .values_list("buyer_id", "status")
    )
    return {buyer_id for buyer_id, status in recent if status == TransactionStatus.FAILED}


def lot_sales_unpaid(*, buyer_id: Any, last: int, since: datetime) -> int:
    """How many of ``buyer_id``'s last ``last`` won lots (since ``since``) they left unpaid: the
    sale ended ``failed`` (the pay window ran out, or the payment was cancelled after it)."""
    recent = (
        Transaction.objects.filter(source=SaleSource.AUCTION, buyer_id=buyer_id, created_at__gte=since)
        .exclude(failure_reason=FailureReason.LOT_VOIDED)
        .order_by("-created_at")
        .values_list("status", flat=True)[:last]
    )
    return sum(1 for status in recent if status == TransactionStatus.FAILED)
