"""Reads of the streams app: constant-query lists for the app's browse screens."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.models import Block, User
from streams.models import Stream, StreamProduct, StreamStatus
from streams.viewers import get_viewer_counter

_STATUS_RANK = Case(
    When(status=StreamStatus.LIVE, then=Value(0)),
    When(status=StreamStatus.SCHEDULED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def streams_visible_to(*, user: User | AnonymousUser) -> QuerySet[Stream]:
    """Every stream, minus those of hosts who blocked ``user`` (to them it does not exist)."""
    # A correlated count, not a JOIN + GROUP BY over every stream (which made the page and
    # its COUNT(*) aggregate the whole table).
    products_count = (
        StreamProduct.objects.filter(stream=OuterRef("pk"))
        .order_by()
        .values("stream")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = Stream.objects.select_related("user", "user__stats").annotate(
        products_count=Coalesce(Subquery(products_count, output_field=IntegerField()), Value(0))
    )
    if user.is_authenticated:
        qs = qs.exclude(user__in=Block.objects.filter(blocked=user).values("blocker"))
    return qs


def streams_list(*, user: User | AnonymousUser) -> QuerySet[Stream]:
    """Live first (most watched first), then upcoming (soonest first), then past (latest first).
    ``streams.filters.StreamFilter`` narrows it."""
    return (
        streams_visible_to(user=user)
        .annotate(status_rank=_STATUS_RANK)
        .order_by(
            "status_rank",
            F("viewer_count").desc(),
            F("scheduled_for").asc(nulls_last=True),
            F("ended_at").desc(nulls_last=True),
            "-created_at",
            "-id",
        )
    )


def stream_products_list(*, stream: Stream) -> QuerySet[StreamProduct]:
    """The stream's tags, pinned first, each with its listing (sold ones included, as sold)."""
    return StreamProduct.objects.filter(stream=stream).select_related("product").order_by("-pinned", "created_at", "id")


def stream_with_current_counts(*, stream: Stream) -> Stream:
    """A live stream's counts from the viewer sets (the row is only written periodically)."""
    if stream.status == StreamStatus.LIVE:
        counts = get_viewer_counter().counts(stream_id=str(stream.pk))
        if counts is not None:  # None: Redis unreachable, the row's last counts stand
            stream.viewer_count = counts.viewer_count
            stream.total_views = max(stream.total_views, counts.total_views)
    return stream


def chat_messages_list(*, stream: Stream) -> QuerySet:
    """A show's chat, newest first, without taken-down messages: one query per page."""
    from streams.models import StreamChatMessage

    return (
        StreamChatMessage.objects.filter(stream=stream, deleted_at__isnull=True)
        .select_related("user")
        .only("id", "stream_id", "text", "created_at", "user__id", "user__username", "user__avatar_url")
        .order_by("-created_at", "-id")
    )
