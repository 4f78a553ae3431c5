"""Writes of the streams app: scheduling, going live, media-server callbacks, viewers, tags.

The publishing key is a credential. It is generated here, handed to the owner once (the
go-live response) and stored only as its SHA-256; nothing here logs it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, VerificationStatus
from catalog.models import Product
from soukloop import events
from soukloop.errors import Conflict, NotFound, PermissionDenied, ValidationError
from soukloop.storage import is_own_media_url
from streams.models import MAX_TAGGED_PRODUCTS_PER_STREAM, Stream, StreamProduct, StreamStatus
from streams.viewers import ViewerCounts, get_viewer_counter

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("title", "description", "category", "scheduled_for", "thumbnail_url")


@dataclass(frozen=True)
class GoLiveCredentials:
    rtmp_url: str
    stream_key: str
    hls_url: str
    publish_url: str


def hash_stream_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hls_url_for(stream: Stream) -> str:
    return f"{settings.HLS_BASE_URL.rstrip('/')}/{stream.pk}/index.m3u8"


# --- guards ------------------------------------------------------------------------------


def ensure_can_stream(*, user: User) -> None:
    """Selling live needs a selling role and, while the setting says so, an approved KYC."""
    if not user.can_sell:
        raise PermissionDenied(_("Only sellers can host live streams."), code="seller_role_required")
    if settings.REQUIRE_VERIFICATION_TO_STREAM and user.verification_status != VerificationStatus.APPROVED:
        raise PermissionDenied(
            _("Your identity must be verified (approved) before you can go live."), code="verification_required"
        )


def _ensure_owner(*, stream: Stream, by: User) -> None:
    if stream.user_id != by.pk:
        raise PermissionDenied(_("Only the host of this stream can do that."), code="not_stream_owner")


def _validate_schedule(*, scheduled_for: datetime | None) -> None:
    if scheduled_for is not None and scheduled_for <= timezone.now():
        raise ValidationError(_("Pick a time in the future."), code="scheduled_in_past", attr="scheduled_for")


def _validate_thumbnail(*, thumbnail_url: str) -> None:
    if thumbnail_url and not is_own_media_url(thumbnail_url):
        raise ValidationError(
            _("Upload the thumbnail through the media endpoint first."), code="foreign_media_url", attr="thumbnail_url"
        )


def _locked(stream: Stream) -> Stream:
    return Stream.objects.select_for_update().select_related("user").get(pk=stream.pk)


# --- scheduling --------------------------------------------------------------------------


@transaction.atomic
def stream_create(
    *,
    user: User,
    title: str,
    category: str,
    description: str = "",
    scheduled_for: datetime | None = None,
    thumbnail_url: str = "",
) -> Stream:
    ensure_can_stream(user=user)
    _validate_schedule(scheduled_for=scheduled_for)
    _validate_thumbnail(thumbnail_url=thumbnail_url)
    return Stream.objects.create(
        user=user,
        title=title,
        description=description,
        category=category,
        scheduled_for=scheduled_for,
        thumbnail_url=thumbnail_url,
        status=StreamStatus.SCHEDULED,
    )


@transaction.atomic
def stream_update(*, stream: Stream, by: User, data: dict[str, Any]) -> Stream:
    """Change a stream that has not started yet (a live or past stream is what it was)."""
    _ensure_owner(stream=stream, by=by)
    stream = _locked(stream)
    if stream.status != StreamStatus.SCHEDULED:
        raise Conflict(_("Only a stream that has not started can be changed."), code=f"stream_{stream.status}")
    changes = {field: value for field, value in data.items() if field in EDITABLE_FIELDS}
    if "scheduled_for" in changes:
        _validate_schedule(scheduled_for=changes["scheduled_for"])
    if "thumbnail_url" in changes:
        _validate_thumbnail(thumbnail_url=changes["thumbnail_url"])
    for field, value in changes.items():
        setattr(stream, field, value)
    stream.save(update_fields=[*changes, "updated_at"])
    return stream


@transaction.atomic
def stream_delete(*, stream: Stream, by: User) -> None:
    _ensure_owner(stream=stream, by=by)
    stream = _locked(stream)
    if stream.status == StreamStatus.LIVE:
        raise Conflict(_("End the stream before deleting it."), code="stream_live")
    stream.delete()


# --- going live and ending -------------------------------------------------------------------


@transaction.atomic
def stream_go_live(*, stream: Stream, by: User) -> GoLiveCredentials:
    """Issue fresh publishing credentials; any earlier key stops working.

    The stream turns ``live`` when the media server reports the publish (``on_publish``).
    """
    _ensure_owner(stream=stream, by=by)
    ensure_can_stream(user=by)
    stream = _locked(stream)
    if stream.status == StreamStatus.ENDED:
        raise Conflict(_("This stream has ended; schedule a new one."), code="stream_ended")
    key = secrets.token_urlsafe(24)
    stream.stream_key = hash_stream_key(key)
    stream.rtmp_url = settings.RTMP_INGEST_URL
    stream.hls_url = hls_url_for(stream)
    stream.save(update_fields=["stream_key", "rtmp_url", "hls_url", "updated_at"])
    logger.info("stream %s: publishing key issued", stream.pk)
    return GoLiveCredentials(
        rtmp_url=stream.rtmp_url,
        stream_key=key,
        hls_url=stream.hls_url,
        publish_url=f"{stream.rtmp_url.rstrip('/')}/{stream.pk}?key={key}",
    )


def _finish(*, stream: Stream, ended_at: datetime | None = None) -> Stream:
    """End a locked stream and store its final counts. Already ended: unchanged."""
    if stream.status == StreamStatus.ENDED:
        return stream
    ended_at = ended_at or timezone.now()
    counter = get_viewer_counter()
    counts = counter.counts(stream_id=str(stream.pk))
    total_views = counts.total_views if counts else stream.total_views
    stream.status = StreamStatus.ENDED
    stream.ended_at = ended_at
    stream.duration_seconds = max(0, int((ended_at - stream.started_at).total_seconds())) if stream.started_at else 0
    stream.viewer_count = 0
    stream.total_views = max(stream.total_views, total_views)
    stream.save(update_fields=["status", "ended_at", "duration_seconds", "viewer_count", "total_views", "updated_at"])
    stream_id = str(stream.pk)
    transaction.on_commit(lambda: counter.forget_soft(stream_id=stream_id))
    logger.info("stream %s ended after %ss", stream.pk, stream.duration_seconds)
    return stream


@transaction.atomic
def stream_end(*, stream: Stream, by: User) -> Stream:
    """The host ends the show (idempotent). The media server drops the publisher at its next
    ``on_update``, which is refused for an ended stream."""
    _ensure_owner(stream=stream, by=by)
    return _finish(stream=_locked(stream))


@transaction.atomic
def stream_end_by_staff(*, stream: Stream) -> Stream:
    """A moderator takes a stream off the air (admin action)."""
    return _finish(stream=_locked(stream))


# --- media-server callbacks ----------------------------------------------------------------


def _stream_for_key(key: str | None) -> Stream | None:
    if not key:
        return None
    return Stream.objects.filter(stream_key=hash_stream_key(key)).only("id").first()


def _stream_for_name(name: str | None) -> Stream | None:
    """``name`` as the media server reports it: the key, or the stream id once renamed."""
    if not name:
        return None
    stream = _stream_for_key(name)
    if stream is None and _is_uuid(name):
        stream = Stream.objects.filter(pk=name).only("id").first()
    return stream


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def _refuse_key() -> PermissionDenied:
    return PermissionDenied(_("Unknown or expired stream key."), code="invalid_stream_key")


@transaction.atomic
def stream_publish_start(*, name: str, key: str | None = None) -> Stream:
    """The media server asks whether ``name`` (the key, or the stream id with ``key``) may publish.

    Allowed for the current key of a scheduled or live stream whose host may still stream;
    marks it live (``started_at`` kept from the first publish, so a reconnect is idempotent).
    """
    if key:
        found = _stream_for_key(key)
        if found is None or name not in (str(found.pk), key):
            raise _refuse_key()
    else:
        found = _stream_for_key(name)
        if found is None:
            raise _refuse_key()
    stream = _locked(found)
    if stream.status == StreamStatus.ENDED:
        raise PermissionDenied(_("This stream has ended."), code="stream_ended")
    ensure_can_stream(user=stream.user)
    now = timezone.now()
    went_live = stream.status != StreamStatus.LIVE
    stream.status = StreamStatus.LIVE
    stream.started_at = stream.started_at or now
    stream.last_heartbeat_at = now
    stream.save(update_fields=["status", "started_at", "last_heartbeat_at", "updated_at"])
    logger.info("stream %s: publish accepted", stream.pk)
    if went_live:  # a reconnect of a live stream is not news
        events.publish(
            "stream.status",
            channel=f"stream:{stream.pk}",
            data={
                "stream_id": str(stream.pk),
                "status": StreamStatus.LIVE,
                "host_id": str(stream.user_id),
                "host_name": stream.user.username,
                "title": stream.title,
            },
        )
    return stream


@transaction.atomic
def stream_publish_done(*, name: str) -> Stream:
    """The publisher went away: the stream is over (idempotent)."""
    found = _stream_for_name(name)
    if found is None:
        raise NotFound(_("Unknown stream."), code="stream_not_found")
    return _finish(stream=_locked(found))


def stream_heartbeat(*, name: str) -> Stream:
    """``on_update`` while publishing. Refused (so nginx-rtmp drops the publisher) once the
    stream is ended or the key unknown."""
    found = _stream_for_name(name)
    if found is None:
        raise _refuse_key()
    updated = Stream.objects.filter(pk=found.pk, status__in=[StreamStatus.SCHEDULED, StreamStatus.LIVE]).update(
        last_heartbeat_at=timezone.now()
    )
    if not updated:
        raise PermissionDenied(_("This stream has ended."), code="stream_ended")
    return found


def mediamtx_authorize(*, action: str, path: str, query: str = "", password: str = "") -> Stream:
    """MediaMTX asks before every publish and read of ``path`` (``live/<stream id or key>``).

    Publish: the key from ``?key=`` (or the password, or the path itself) must be current.
    Read: anyone may watch a live stream by its id. Anything else (API, metrics...) is refused.
    """
    name = path.strip("/").rsplit("/", 1)[-1]
    if action == "publish":
        key = (parse_qs(query).get("key") or [""])[0] or password or None
        return stream_publish_start(name=name, key=key)
    if action == "read":
        stream = Stream.objects.filter(pk=name, status=StreamStatus.LIVE).only("id").first() if _is_uuid(name) else None
        if stream is None:
            raise PermissionDenied(_("This stream is not live."), code="stream_not_live")
        return stream
    raise PermissionDenied(_("The media server may not do that here."), code="action_not_allowed")


@transaction.atomic
def streams_end_stale(*, minutes: int, now: datetime | None = None) -> int:
    """End live streams not heard from (publish or heartbeat) for ``minutes``. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=minutes)
    stale_ids = list(
        Stream.objects.filter(status=StreamStatus.LIVE)
        .annotate(last_seen=Coalesce("last_heartbeat_at", "started_at", "updated_at"))
        .filter(last_seen__lt=cutoff)
        .values_list("pk", flat=True)
    )
    ended = 0
    for stream in (
        Stream.objects.select_for_update()
        .filter(pk__in=stale_ids, status=StreamStatus.LIVE)
        .annotate(last_seen=Coalesce("last_heartbeat_at", "started_at", "updated_at"))
        .filter(last_seen__lt=cutoff)
    ):
        _finish(stream=stream, ended_at=now)
        ended += 1
    return ended


# --- viewers ---------------------------------------------------------------------------------


def _persist_counts(*, stream: Stream, counts: ViewerCounts) -> None:
    Stream.objects.filter(pk=stream.pk, status=StreamStatus.LIVE).update(
        viewer_count=counts.viewer_count,
        total_views=Greatest(F("total_views"), counts.total_views),
    )


def _stored_counts(stream: Stream) -> ViewerCounts:
    """The counts last written to the row: what we answer while the live counters are down."""
    return ViewerCounts(viewer_count=stream.viewer_count, total_views=stream.total_views)


def _after_viewer_change(*, stream: Stream, counts: ViewerCounts | None) -> ViewerCounts:
    if counts is None:
        return _stored_counts(stream)
    counter = get_viewer_counter()
    if counter.claim_persist_soft(stream_id=str(stream.pk), interval_seconds=settings.STREAM_VIEWER_PERSIST_SECONDS):
        _persist_counts(stream=stream, counts=counts)
    return counts


def stream_join(*, stream: Stream, viewer: User) -> ViewerCounts:
    """Count ``viewer`` as watching for STREAM_VIEWER_TTL_SECONDS; joining again is the heartbeat.
    The host is not their own viewer."""
    if stream.status != StreamStatus.LIVE:
        raise Conflict(_("This stream is not live."), code="stream_not_live")
    counter = get_viewer_counter()
    if stream.user_id == viewer.pk:
        return counter.counts(stream_id=str(stream.pk)) or _stored_counts(stream)
    counts = counter.join(stream_id=str(stream.pk), viewer_id=str(viewer.pk))
    return _after_viewer_change(stream=stream, counts=counts)


def stream_leave(*, stream: Stream, viewer: User) -> ViewerCounts:
    """Stop counting ``viewer`` (idempotent; leaving an ended stream just reports its counts)."""
    if stream.status != StreamStatus.LIVE:
        return ViewerCounts(viewer_count=0, total_views=stream.total_views)
    counts = get_viewer_counter().leave(stream_id=str(stream.pk), viewer_id=str(viewer.pk))
    return _after_viewer_change(stream=stream, counts=counts)


def stream_viewers_sync(*, stream: Stream) -> ViewerCounts:
    """Write the current counts of a live stream to its row (the periodic persistence)."""
    counts = get_viewer_counter().counts(stream_id=str(stream.pk))
    if counts is None:
        return _stored_counts(stream)
    _persist_counts(stream=stream, counts=counts)
    return counts


# --- product tags ----------------------------------------------------------------------------


@transaction.atomic
def stream_product_tag(
    *, stream: Stream, by: User, product_id: Any, x: float, y: float, pinned: bool = False
) -> tuple[StreamProduct, bool]:
    """Show one of the host's available listings on the stream (again: move/pin it).

    Returns the tag and whether it is new. Pinning unpins the previous pinned listing; the
    stream row lock serialises concurrent pins, the partial unique constraint backs it.
    """
    _ensure_owner(stream=stream, by=by)
    stream = _locked(stream)
    if stream.status == StreamStatus.ENDED:
        raise Conflict(_("This stream has ended."), code="stream_ended")
    product = Product.objects.filter(pk=product_id, deleted_at__isnull=True).first()
    if product is None:
        raise ValidationError(_("This listing does not exist."), code="product_not_found", attr="product_id")
    if product.seller_id != by.pk:
        raise ValidationError(_("You can only tag your own listings."), code="not_your_product", attr="product_id")
    if not product.is_available:
        raise ValidationError(_("This listing has been sold."), code="product_unavailable", attr="product_id")
    tag = StreamProduct.objects.filter(stream=stream, product=product).first()
    if tag is None and StreamProduct.objects.filter(stream=stream).count() >= MAX_TAGGED_PRODUCTS_PER_STREAM:
        raise ValidationError(
            _("A stream can show at most %(limit)d listings.") % {"limit": MAX_TAGGED_PRODUCTS_PER_STREAM},
            code="too_many_products",
            attr="product_id",
        )
    if pinned:
        StreamProduct.objects.filter(stream=stream, pinned=True).exclude(product=product).update(
            pinned=False, updated_at=timezone.now()
        )
    if tag is None:
        return StreamProduct.objects.create(stream=stream, product=product, x=x, y=y, pinned=pinned), True
    tag.x, tag.y, tag.pinned = x, y, pinned
    tag.save(update_fields=["x", "y", "pinned", "updated_at"])
    return tag, False


@transaction.atomic
def stream_product_untag(*, stream: Stream, by: User, product_id: Any) -> None:
    _ensure_owner(stream=stream, by=by)
    deleted, _rows = StreamProduct.objects.filter(stream=stream, product_id=product_id).delete()
    if not deleted:
        raise NotFound(_("This listing is not tagged on the stream."), code="product_not_tagged")
