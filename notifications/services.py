"""Writes of notifications: devices, the inbox, preferences, and the outbox of deliveries.

``notify_users`` makes, in one transaction, one inbox row per person (``dedupe_key`` makes a
repeated event count once) and one delivery per channel the person wants (push: one per
device). After commit each delivery is enqueued (``notifications.tasks.deliver``); if the
broker is down the rows stay ``pending`` and ``flush_outbox`` enqueues them when it is back.
``delivery_attempt`` sends one delivery (claimed under its row lock, sent with no transaction
open, its result written under the lock): idempotent (a sent delivery is never sent again),
held in quiet hours (pushes only), retried with doubling back-off, dead after
``NOTIFY_MAX_ATTEMPTS`` (listed in the admin).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from accounts.models import User
from accounts.sms import SMSMessage, get_sms_backend
from notifications.models import (
    DEFAULT_CHANNELS,
    Channel,
    Delivery,
    DeliveryStatus,
    Device,
    Kind,
    Notification,
    Preferences,
)
from notifications.push import PushMessage, TokenGone, as_push_data, get_push_backend
from soukloop.errors import NotFound, ValidationError

logger = logging.getLogger(__name__)


# --- Devices ----------------------------------------------------------------------------------


@transaction.atomic
def device_register(*, user: User, platform: str, token: str) -> Device:
    """Register a push token; one registered by another account moves to this one (a phone
    that changed hands, or signed in as someone else), and that account's pushes still
    pending for it are dropped."""
    device = Device.objects.select_for_update().filter(token=token).first()
    if device is None:
        return Device.objects.create(user=user, platform=platform, token=token)
    if device.user_id != user.pk:
        # The previous account's pushes still waiting for this phone (quiet hours, back-off)
        # must not reach whoever holds it now.
        Delivery.objects.filter(device=device, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.DROPPED, last_error="the device moved to another account"
        )
    device.user, device.platform = user, platform
    device.save(update_fields=["user", "platform", "updated_at"])
    return device


def device_unregister(*, user: User, token: str) -> None:
    """On sign-out; someone else's token, or none, is a 404."""
    deleted, _by_model = Device.objects.filter(user=user, token=token).delete()
    if not deleted:
        raise NotFound("No such device.", code="device_not_found")


# --- Inbox and preferences ------------------------------------------------------------------------


def notifications_mark_read(*, user: User, ids: Iterable[Any] | None = None, everything: bool = False) -> int:
    qs = Notification.objects.filter(user=user, is_read=False)
    if not everything:
        qs = qs.filter(pk__in=list(ids or []))
    return qs.update(is_read=True)


def channels_for(preferences: Preferences | None, kind: str) -> set[str]:
    """The channels a person wants for a kind: the default, changed by their switches."""
    wanted = set(DEFAULT_CHANNELS[kind])
    for channel, enabled in ((preferences.channels if preferences else {}) or {}).get(kind, {}).items():
        (wanted.add if enabled else wanted.discard)(channel)
    return wanted


@transaction.atomic
def preferences_update(
    *, user: User, channels: dict[str, dict[str, bool]] | None = None, quiet_hours: dict[str, Any] | None = None
) -> Preferences:
    preferences, _created = Preferences.objects.select_for_update().get_or_create(
        user=user, defaults={"timezone": settings.NOTIFY_DEFAULT_TIMEZONE}
    )
    if channels:
        merged = dict(preferences.channels or {})
        for kind, switches in channels.items():
            merged[kind] = {**merged.get(kind, {}), **switches}
        preferences.channels = merged
    if quiet_hours is not None:
        if quiet_hours.get("timezone"):
            try:
                ZoneInfo(quiet_hours["timezone"])
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValidationError("Unknown time zone.", code="invalid_timezone", attr="timezone") from exc
            preferences.timezone = quiet_hours["timezone"]
        if "start" in quiet_hours or "end" in quiet_hours:
            preferences.quiet_start, preferences.quiet_end = quiet_hours.get("start"), quiet_hours.get("end")
    preferences.save()
    return preferences


# --- Making notifications -------------------------------------------------------------------------

Texts = Callable[[], tuple[str, str]]


def notify_users(
    *, user_ids: Iterable[Any], kind: str, texts: Texts, data: dict[str, Any], dedupe_key: str = ""
) -> list[uuid.UUID]:
    """One inbox row per person (once per ``dedupe_key``) and the deliveries they want; the
    deliveries are enqueued after commit. ``texts()`` gives (title, body) and is called in
    each person's language. Returns the new deliveries' ids."""
    if kind not in Kind.values:
        raise ValueError(f"unknown notification kind {kind}")
    ids = set()
    for user_id in user_ids:
        try:
            ids.add(uuid.UUID(str(user_id)))
        except ValueError:
            logger.warning("notification for a malformed user id skipped", extra={"kind": kind})
    users = list(User.objects.filter(pk__in=ids, is_active=True).only("pk", "language", "email", "phone"))
    if not users:
        return []
    preferences = {p.user_id: p for p in Preferences.objects.filter(user__in=users)}
    devices: dict[Any, list[Device]] = defaultdict(list)
    for device in Device.objects.filter(user__in=users).only("pk", "user_id"):
        devices[device.user_id].append(device)
    rendered: dict[str, tuple[str, str]] = {}
    notifications, wanted = [], {}
    for user in users:
        channels = channels_for(preferences.get(user.pk), kind)
        language = user.language or settings.LANGUAGE_CODE
        if language not in rendered:
            with translation.override(language):
                title, body = texts()
            rendered[language] = (str(title)[:200], str(body)[:500])
        title, body = rendered[language]
        notification = Notification(
            user=user,
            kind=kind,
            title=title,
            body=body,
            data=data,
            dedupe_key=dedupe_key,
            in_inbox=Channel.IN_APP in channels,
        )
        notifications.append(notification)
        wanted[notification.pk] = (user, channels)
    with transaction.atomic():
        Notification.objects.bulk_create(notifications, ignore_conflicts=bool(dedupe_key))
        created = set(Notification.objects.filter(pk__in=list(wanted)).values_list("pk", flat=True))
        deliveries = []
        for notification_id in created:
            user, channels = wanted[notification_id]
            if Channel.PUSH in channels:
                deliveries += [
                    Delivery(notification_id=notification_id, channel=Channel.PUSH, device=device)
                    for device in devices.get(user.pk, [])
                ]
            if Channel.SMS in channels and user.phone:
                deliveries.append(Delivery(notification_id=notification_id, channel=Channel.SMS))
            if Channel.EMAIL in channels and user.email:
                deliveries.append(Delivery(notification_id=notification_id, channel=Channel.EMAIL))
        Delivery.objects.bulk_create(deliveries)
        delivery_ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: enqueue_deliveries(delivery_ids))
    return delivery_ids


def enqueue_deliveries(delivery_ids: list[uuid.UUID]) -> None:
    """Hand deliveries to the workers; with the broker down they wait in the outbox."""
    from notifications.tasks import deliver
    from soukloop.background import BROKER_DOWN

    for count, delivery_id in enumerate(delivery_ids):
        try:
            deliver.apply_async(args=[str(delivery_id)])
        except BROKER_DOWN:
            logger.warning("broker unreachable: %d deliveries wait in the outbox", len(delivery_ids) - count)
            return


# --- Sending one delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    outcome: str  # sent | dropped | held | retry | dead | skipped
    retry_at: datetime | None = None


def quiet_until(preferences: Preferences | None, now: datetime) -> datetime | None:
    """When the person's quiet hours end, if ``now`` falls within them."""
    if preferences is None or preferences.quiet_start is None or preferences.quiet_end is None:
        return None
    try:
        zone = ZoneInfo(preferences.timezone or settings.NOTIFY_DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.NOTIFY_DEFAULT_TIMEZONE)
    local = now.astimezone(zone)
    start, end = preferences.quiet_start, preferences.quiet_end
    clock = local.time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, time(end.hour, end.minute), tzinfo=zone)


def _send(delivery: Delivery) -> str:
    notification = delivery.notification
    user = notification.user
    data = as_push_data({**notification.data, "notification_id": notification.pk, "kind": notification.kind})
    if delivery.channel == Channel.PUSH:
        if delivery.device is None:
            raise TokenGone("device removed")
        message = PushMessage(
            token=delivery.device.token,
            platform=delivery.device.platform,
            title=notification.title,
            body=notification.body,
            data=data,
        )
        return get_push_backend().send(message)
    if delivery.channel == Channel.SMS:
        return (
            get_sms_backend().send(SMSMessage(to=user.phone or "", body=f"{notification.title}: {notification.body}"))
            or ""
        )
    send_mail(notification.title, notification.body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
    return ""


def delivery_attempt(*, delivery_id: Any, now: datetime | None = None) -> Attempt:
    """Send one delivery if it is due, in three steps so that no transaction or row lock is
    open while a provider answers (a slow SMTP server or SMS API would otherwise hold a
    database connection's transaction and the row for as long as it takes):

    1. claim it under its row lock in a short transaction: due, not in quiet hours, then one
       more attempt and held for ``NOTIFY_SEND_LEASE_SECONDS``, so a retry task or the outbox
       flush that comes meanwhile finds it held and leaves it;
    2. send it, no transaction open;
    3. write the result under the row lock again, only if the claim is still ours.

    A worker that dies between 1 and 3 leaves the delivery pending and held: it is sent again
    when the lease is over (at least once after a crash; never twice otherwise, as the lease
    outlasts every provider's timeout)."""
    now = now or timezone.now()
    claimed = _delivery_claim(delivery_id=delivery_id, now=now)
    if isinstance(claimed, Attempt):
        return claimed
    try:
        provider_id = _send(claimed)
    except TokenGone:
        return _delivery_record(claimed, now=now, dropped=True)
    except Exception as exc:  # any provider failure is retried, then dead-lettered
        return _delivery_record(claimed, now=now, error=f"{type(exc).__name__}: {str(exc)[:150]}")
    return _delivery_record(claimed, now=now, provider_id=provider_id)


def _delivery_claim(*, delivery_id: Any, now: datetime) -> Delivery | Attempt:
    """Step 1 of ``delivery_attempt``: the delivery, claimed; or why it is not sent now."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification", "notification__user", "device")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return Attempt("skipped")
        if delivery.not_before is not None and delivery.not_before > now:
            return Attempt("held", retry_at=delivery.not_before)
        if delivery.channel == Channel.PUSH:
            preferences = Preferences.objects.filter(user_id=delivery.notification.user_id).first()
            until = quiet_until(preferences, now)
            if until is not None:
                delivery.not_before = until
                delivery.save(update_fields=["not_before"])
                return Attempt("held", retry_at=until)
        delivery.attempts += 1
        delivery.not_before = now + timedelta(seconds=settings.NOTIFY_SEND_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "not_before"])
        return delivery


def _delivery_record(
    claimed: Delivery, *, now: datetime, provider_id: str = "", error: str = "", dropped: bool = False
) -> Attempt:
    """Step 3 of ``delivery_attempt``: the send's result, written if the claim is still ours
    (a send that outlived its lease was taken over: the other worker writes its own)."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(of=("self",)).filter(pk=claimed.pk).first()
        if delivery is None or delivery.status != DeliveryStatus.PENDING or delivery.attempts != claimed.attempts:
            logger.warning(
                "notification delivery finished after another attempt took it over or it was dropped",
                extra={"delivery_id": str(claimed.pk), "channel": claimed.channel},
            )
            return Attempt("skipped")
        if dropped:
            if delivery.device_id:
                Device.objects.filter(pk=delivery.device_id).delete()
            delivery.status, delivery.last_error = DeliveryStatus.DROPPED, "device token no longer registered"
            delivery.save(update_fields=["status", "last_error"])
            return Attempt("dropped")
        if error:
            delivery.last_error = error
            if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.DEAD
                delivery.save(update_fields=["status", "last_error"])
                logger.error(
                    "notification delivery dead after %d attempts",
                    delivery.attempts,
                    extra={"delivery_id": str(delivery.pk), "channel": delivery.channel},
                )
                return Attempt("dead")
            delivery.not_before = now + timedelta(
                seconds=settings.NOTIFY_RETRY_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
            )
            delivery.save(update_fields=["last_error", "not_before"])
            return Attempt("retry", retry_at=delivery.not_before)
        delivery.status, delivery.sent_at, delivery.provider_id = DeliveryStatus.SENT, now, provider_id or ""
        delivery.save(update_fields=["status", "sent_at", "provider_id"])
        return Attempt("sent")


def outbox_due(*, now: datetime | None = None, limit: int = 5000) -> list[uuid.UUID]:
    """Pending deliveries a worker should have by now: due ones whose task was lost (broker
    down when they were made, a worker that died) or whose back-off or quiet hours are over."""
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.NOTIFY_OUTBOX_GRACE_SECONDS)
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(not_before__isnull=True, created_at__lte=grace) | Q(not_before__lte=now)
    )
    return list(due.order_by("created_at").values_list("pk", flat=True)[:limit])


def sms_status_record(*, message_sid: str, status: str, error_code: str = "") -> bool:
    """Twilio's delivery report for a message we sent; False for a SID we do not know."""
    updated = Delivery.objects.filter(channel=Channel.SMS, provider_id=message_sid).update(
        provider_status=status[:20], **({"last_error": f"Twilio error {error_code}"[:200]} if error_code else {})
    )
    return bool(updated)
