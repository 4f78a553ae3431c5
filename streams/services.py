"""Writes of the streams app: scheduling, going live, media-server callbacks, viewers, tags.

The publishing key is a credential. It is generated here, handed to the owner once (the
go-live response) and stored only as its SHA-256; nothing here logs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, VerificationStatus
from catalog.models import Product
from soukloop import events
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.errors import Conflict, NotFound, PermissionDenied, TooManyRequests, ValidationError
from soukloop.storage import is_own_media_url
from streams.models import (
    MAX_CHAT_TEXT_CHARS,
    MAX_TAGGED_PRODUCTS_PER_STREAM,
    Stream,
    StreamChatMessage,
    StreamChatRestriction,
    StreamChatSettings,
    StreamProduct,
    StreamStatus,
)
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


def _publish_status(stream: Stream) -> None:
    events.publish(
        "stream.status",
        channel=f"stream:{stream.pk}",
        data={
            "stream_id": str(stream.pk),
            "status": stream.status,
            "started_at": stream.started_at,
            "ended_at": stream.ended_at,
            "duration_seconds": stream.duration_seconds,
            # who went live, for the followers' "is live" notification
            "host_id": str(stream.user_id),
            "host_name": stream.user.username,
            "title": stream.title,
        },
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
    _publish_status(stream)
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
    if went_live:
        _publish_status(stream)
    logger.info("stream %s: publish accepted", stream.pk)
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
    _broadcast_viewers(stream=stream, counts=counts)
    return counts


def _viewers_sent_key(stream_id: Any) -> str:
    return f"streams:viewers:sent:{stream_id}"


def _broadcast_viewers(*, stream: Stream, counts: ViewerCounts) -> bool:
    """``stream.viewers`` at most once per STREAM_VIEWERS_BROADCAST_SECONDS per stream (a
    2,000-viewer room must not get a frame per join); the first change of a quiet second goes,
    and the last one of a busy second follows at the window's end (``stream_viewers_settle``).
    Returns whether it went."""
    claimed = False
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        claimed = cache.add(
            f"streams:viewers:broadcast:{stream.pk}", 1, timeout=settings.STREAM_VIEWERS_BROADCAST_SECONDS
        )
        if claimed:
            cache.set(_viewers_sent_key(stream.pk), counts.viewer_count, timeout=24 * 3600)
    if claimed:
        events.publish(
            "stream.viewers",
            channel=f"stream:{stream.pk}",
            data={"stream_id": str(stream.pk), "viewer_count": counts.viewer_count, "total_views": counts.total_views},
        )
    return claimed


def stream_viewers_settle(*, stream_id: str) -> bool:
    """The trailing edge of the viewer-count throttle: if the count changed since the last
    ``stream.viewers`` frame, send it now. The gateway calls this a window after a join or
    leave. Returns True when the window was still closed, so the caller should look again."""
    stream = _presence_stream(stream_id)
    if stream is None:
        return False
    counts = get_viewer_counter().counts(stream_id=str(stream.pk))
    if counts is None:
        return False
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        if cache.get(_viewers_sent_key(stream.pk)) == counts.viewer_count:
            return False
    return not _broadcast_viewers(stream=stream, counts=counts)


def _presence_stream(stream_id: str) -> Stream | None:
    return (
        Stream.objects.filter(pk=stream_id, status=StreamStatus.LIVE)
        .only("id", "user_id", "status", "viewer_count", "total_views")
        .first()
    )


def stream_presence_join(*, stream_id: str, viewer_key: str) -> ViewerCounts | None:
    """A socket joined the stream's room (realtime): counted like ``stream_join``. ``viewer_key``
    is the user id (so the app's REST join and its socket count once) or an anonymous viewer's
    key. Not live, or the host: not counted (None)."""
    stream = _presence_stream(stream_id)
    if stream is None or viewer_key == str(stream.user_id):
        return None
    counts = get_viewer_counter().join(stream_id=str(stream.pk), viewer_id=viewer_key)
    return _after_viewer_change(stream=stream, counts=counts)


def stream_presence_leave(*, stream_id: str, viewer_key: str) -> ViewerCounts | None:
    """The socket closed or left the room: no longer counted (idempotent)."""
    stream = _presence_stream(stream_id)
    if stream is None:
        return None
    counts = get_viewer_counter().leave(stream_id=str(stream.pk), viewer_id=viewer_key)
    return _after_viewer_change(stream=stream, counts=counts)


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
    was_pinned = tag is not None and tag.pinned
    if tag is None:
        tag, created = StreamProduct.objects.create(stream=stream, product=product, x=x, y=y, pinned=pinned), True
    else:
        tag.x, tag.y, tag.pinned, created = x, y, pinned, False
        tag.save(update_fields=["x", "y", "pinned", "updated_at"])
    if pinned or was_pinned:
        _publish_pinned(stream=stream, tag=tag if pinned else None)
    return tag, created


def _publish_pinned(*, stream: Stream, tag: StreamProduct | None) -> None:
    """``stream.pinned``: the listing now pinned (with its place on the frame), or none."""
    data: dict[str, Any] = {"stream_id": str(stream.pk), "product_id": None}
    if tag is not None:
        data.update(product_id=str(tag.product_id), x=tag.x, y=tag.y)
    events.publish("stream.pinned", channel=f"stream:{stream.pk}", data=data)


@transaction.atomic
def stream_product_untag(*, stream: Stream, by: User, product_id: Any) -> None:
    _ensure_owner(stream=stream, by=by)
    was_pinned = StreamProduct.objects.filter(stream=stream, product_id=product_id, pinned=True).exists()
    deleted, _rows = StreamProduct.objects.filter(stream=stream, product_id=product_id).delete()
    if not deleted:
        raise NotFound(_("This listing is not tagged on the stream."), code="product_not_tagged")
    if was_pinned:
        _publish_pinned(stream=stream, tag=None)


# --- live-show chat --------------------------------------------------------------------------

# http(s)://…, www.…, or a bare domain with a common top-level part (souk.example.com, bit.ly/x).
_LINK = re.compile(
    r"(https?://|www\.|\b[\w-]+(\.[\w-]+)*\.(com|net|org|ae|io|ly|me|co|info|biz|shop|store|link|app)\b)",
    re.IGNORECASE,
)
MAX_BANNED_WORDS = 200
MAX_BANNED_WORD_CHARS = 50
MAX_MUTE_MINUTES = 24 * 60
MAX_SLOW_MODE_SECONDS = 3600
MAX_CHAT_MODERATORS = 20


def chat_settings_for(*, stream: Stream) -> StreamChatSettings:
    """The show's chat rules; the first time, a copy of the host's previous show's rules."""
    found = StreamChatSettings.objects.filter(stream=stream).first()
    if found is not None:
        return found
    previous = (
        StreamChatSettings.objects.filter(stream__user_id=stream.user_id).exclude(stream=stream).order_by("-created_at")
    ).first()
    chat_settings, created = StreamChatSettings.objects.get_or_create(
        stream=stream,
        defaults={
            "banned_words": list(previous.banned_words) if previous else [],
            "links_allowed": previous.links_allowed if previous else False,
        },
    )
    if created and previous is not None:
        chat_settings.moderators.set(previous.moderators.all())
    return chat_settings


def _is_chat_moderator(*, stream: Stream, user: User, chat_settings: StreamChatSettings | None = None) -> bool:
    if stream.user_id == user.pk:
        return True
    if chat_settings is not None:
        return chat_settings.moderators.filter(pk=user.pk).exists()
    return StreamChatSettings.objects.filter(stream=stream, moderators=user).exists()


def ensure_chat_moderator(*, stream: Stream, by: User) -> None:
    if not _is_chat_moderator(stream=stream, user=by):
        raise PermissionDenied(_("Only the host and their moderators can do that."), code="not_chat_moderator")


def _contains_banned_word(text: str, words: list[str]) -> bool:
    lowered = text.casefold()
    return any(re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", lowered) for word in words if word)


def _chat_throttle(*, stream: Stream, user: User, slow_mode_seconds: int) -> None:
    """Slow mode (one message per N seconds) and the per-user rate limit. Without Redis the
    chat stays open (fail open): losing the limit for a moment beats silencing a show."""
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        if slow_mode_seconds and not cache.add(
            f"streams:chat:slow:{stream.pk}:{user.pk}", 1, timeout=slow_mode_seconds
        ):
            raise TooManyRequests(
                _("Slow mode is on: one message every %(n)d seconds.") % {"n": slow_mode_seconds},
                wait=slow_mode_seconds,
                code="slow_mode",
            )
        window = settings.STREAM_CHAT_RATE_SECONDS
        key = f"streams:chat:rate:{stream.pk}:{user.pk}:{int(time.time() // window)}"
        cache.add(key, 0, timeout=window)
        if cache.incr(key) > settings.STREAM_CHAT_RATE_MESSAGES:
            raise TooManyRequests(_("You are sending messages too fast."), wait=window, code="chat_rate_limited")


def _chat_message_data(message: StreamChatMessage) -> dict[str, Any]:
    user = message.user
    return {
        "id": str(message.pk),
        "stream_id": str(message.stream_id),
        "text": message.text,
        "user": {"id": str(user.pk), "username": user.username, "avatar_url": user.avatar_url or ""},
        "created_at": message.created_at,
    }


@transaction.atomic
def chat_send(*, stream: Stream, user: User, text: str) -> StreamChatMessage:
    """A message in a live show's chat (REST or the socket's ``stream.chat`` frame).

    The host and their moderators skip the rules (banned words, links, slow mode, rate);
    everyone else: not banned, not muted, no banned word, no link unless allowed.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Say something."), code="blank", attr="text")
    if len(text) > MAX_CHAT_TEXT_CHARS:
        raise ValidationError(
            _("A chat message is at most %(max)d characters.") % {"max": MAX_CHAT_TEXT_CHARS},
            code="max_length",
            attr="text",
        )
    if stream.status != StreamStatus.LIVE:
        raise Conflict(_("The chat opens when the show is live."), code="stream_not_live")
    chat_settings = chat_settings_for(stream=stream)
    if not _is_chat_moderator(stream=stream, user=user, chat_settings=chat_settings):
        restriction = StreamChatRestriction.objects.filter(stream=stream, user=user).first()
        if restriction is not None and restriction.banned:
            raise PermissionDenied(_("You are banned from this show's chat."), code="chat_banned")
        if restriction is not None and restriction.muted_until and restriction.muted_until > timezone.now():
            raise PermissionDenied(
                _("You are muted until %(until)s.") % {"until": restriction.muted_until.isoformat()},
                code="chat_muted",
            )
        if _contains_banned_word(text, chat_settings.banned_words):
            raise ValidationError(
                _("That message has a word the host does not allow."), code="banned_word", attr="text"
            )
        if not chat_settings.links_allowed and _LINK.search(text):
            raise ValidationError(_("Links are not allowed in this chat."), code="links_not_allowed", attr="text")
        _chat_throttle(stream=stream, user=user, slow_mode_seconds=chat_settings.slow_mode_seconds)
    message = StreamChatMessage.objects.create(stream=stream, user=user, text=text)
    events.publish("stream.chat", channel=f"stream:{stream.pk}", data=_chat_message_data(message))
    return message


@transaction.atomic
def chat_message_delete(*, stream: Stream, by: User, message_id: Any) -> None:
    """Take a message down (host or moderator; idempotent)."""
    ensure_chat_moderator(stream=stream, by=by)
    message = StreamChatMessage.objects.select_for_update().filter(stream=stream, pk=message_id).first()
    if message is None:
        raise NotFound(_("Chat message not found."), code="chat_message_not_found")
    if message.deleted_at is not None:
        return
    message.deleted_at, message.deleted_by = timezone.now(), by
    message.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    events.publish(
        "stream.chat.deleted",
        channel=f"stream:{stream.pk}",
        data={"stream_id": str(stream.pk), "message_ids": [str(message.pk)], "user_id": str(message.user_id)},
    )


def _chat_target(*, stream: Stream, by: User, user_id: Any) -> User:
    target = User.objects.filter(pk=user_id).first() if _is_uuid(str(user_id)) else None
    if target is None:
        raise ValidationError(_("No such user."), code="user_not_found", attr="user_id")
    if target.pk == stream.user_id or target.pk == by.pk:
        raise ValidationError(_("The host and you cannot be restricted."), code="cannot_moderate", attr="user_id")
    if stream.user_id != by.pk and _is_chat_moderator(stream=stream, user=target):
        raise ValidationError(_("Only the host restricts a moderator."), code="cannot_moderate", attr="user_id")
    return target


@transaction.atomic
def chat_mute(*, stream: Stream, by: User, user_id: Any, minutes: int) -> StreamChatRestriction:
    ensure_chat_moderator(stream=stream, by=by)
    if not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise ValidationError(
            _("Mute for 1 to %(max)d minutes.") % {"max": MAX_MUTE_MINUTES}, code="invalid_duration", attr="minutes"
        )
    target = _chat_target(stream=stream, by=by, user_id=user_id)
    until = timezone.now() + timedelta(minutes=minutes)
    restriction, _created = StreamChatRestriction.objects.update_or_create(
        stream=stream, user=target, defaults={"muted_until": until}
    )
    events.publish(
        "stream.chat.moderated",
        channel=f"stream:{stream.pk}",
        data={"stream_id": str(stream.pk), "action": "mute", "user_id": str(target.pk), "until": until},
    )
    return restriction


@transaction.atomic
def chat_ban(*, stream: Stream, by: User, user_id: Any) -> StreamChatRestriction:
    """Ban from this show's chat; their messages come down with them."""
    ensure_chat_moderator(stream=stream, by=by)
    target = _chat_target(stream=stream, by=by, user_id=user_id)
    restriction, _created = StreamChatRestriction.objects.update_or_create(
        stream=stream, user=target, defaults={"banned": True}
    )
    visible = StreamChatMessage.objects.filter(stream=stream, user=target, deleted_at__isnull=True)
    removed = [str(pk) for pk in visible.values_list("pk", flat=True)]
    visible.update(deleted_at=timezone.now(), deleted_by=by, updated_at=timezone.now())
    events.publish(
        "stream.chat.moderated",
        channel=f"stream:{stream.pk}",
        data={"stream_id": str(stream.pk), "action": "ban", "user_id": str(target.pk), "until": None},
    )
    if removed:
        events.publish(
            "stream.chat.deleted",
            channel=f"stream:{stream.pk}",
            data={"stream_id": str(stream.pk), "message_ids": removed, "user_id": str(target.pk)},
        )
    return restriction


def _clean_banned_words(words: list[str]) -> list[str]:
    cleaned: list[str] = []
    for word in words:
        word = word.strip().casefold()
        if len(word) > MAX_BANNED_WORD_CHARS:
            raise ValidationError(
                _("A banned word is at most %(max)d characters.") % {"max": MAX_BANNED_WORD_CHARS},
                code="max_length",
                attr="banned_words",
            )
        if word and word not in cleaned:
            cleaned.append(word)
    if len(cleaned) > MAX_BANNED_WORDS:
        raise ValidationError(
            _("At most %(max)d banned words.") % {"max": MAX_BANNED_WORDS}, code="max_length", attr="banned_words"
        )
    return cleaned


@transaction.atomic
def chat_settings_update(*, stream: Stream, by: User, data: dict[str, Any]) -> StreamChatSettings:
    """Slow mode, banned words and links: host or moderator; the moderator list: host only."""
    ensure_chat_moderator(stream=stream, by=by)
    chat_settings = chat_settings_for(stream=stream)
    chat_settings = StreamChatSettings.objects.select_for_update().get(pk=chat_settings.pk)
    fields = []
    if "slow_mode_seconds" in data:
        if not 0 <= data["slow_mode_seconds"] <= MAX_SLOW_MODE_SECONDS:
            raise ValidationError(
                _("Slow mode is 0 to %(max)d seconds.") % {"max": MAX_SLOW_MODE_SECONDS},
                code="invalid",
                attr="slow_mode_seconds",
            )
        chat_settings.slow_mode_seconds = data["slow_mode_seconds"]
        fields.append("slow_mode_seconds")
    if "banned_words" in data:
        chat_settings.banned_words = _clean_banned_words(data["banned_words"])
        fields.append("banned_words")
    if "links_allowed" in data:
        chat_settings.links_allowed = data["links_allowed"]
        fields.append("links_allowed")
    if fields:
        chat_settings.save(update_fields=[*fields, "updated_at"])
    if "moderators" in data:
        if stream.user_id != by.pk:
            raise PermissionDenied(_("Only the host chooses moderators."), code="not_stream_owner")
        ids = {str(pk) for pk in data["moderators"]} - {str(stream.user_id)}
        if len(ids) > MAX_CHAT_MODERATORS:
            raise ValidationError(
                _("At most %(max)d moderators.") % {"max": MAX_CHAT_MODERATORS}, code="max_length", attr="moderators"
            )
        users = list(User.objects.filter(pk__in=ids, is_active=True))
        if len(users) != len(ids):
            raise ValidationError(_("No such user."), code="user_not_found", attr="moderators")
        chat_settings.moderators.set(users)
    return chat_settings
