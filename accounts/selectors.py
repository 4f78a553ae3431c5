"""Reads for people: profiles with stats, follower/following lists, block checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.models import Block, Follow, User


def is_blocked_between(*, user_a: User, user_b: User) -> bool:
    """True when either person has blocked the other."""
    return Block.objects.filter(Q(blocker=user_a, blocked=user_b) | Q(blocker=user_b, blocked=user_a)).exists()


def is_blocked_between_ids(*, user_a_id: Any, user_b_id: Any) -> bool:
    """``is_blocked_between`` by ids, for callers that hold no user rows."""
    return Block.objects.filter(
        Q(blocker_id=user_a_id, blocked_id=user_b_id) | Q(blocker_id=user_b_id, blocked_id=user_a_id)
    ).exists()


def blocked_among(*, user_id: Any, others: Iterable[Any]) -> set[Any]:
    """Which of ``others`` (ids, as objects or strings) are in a block with ``user_id``, either
    way, as the database's ids (one query)."""
    wanted = {str(other) for other in others}
    if not wanted:
        return set()
    among = Q(blocker_id__in=wanted) | Q(blocked_id__in=wanted)
    return {pk for pk in block_partner_ids(user_id=user_id).filter(among) if str(pk) in wanted}


def block_partner_ids(*, user_id: Any) -> QuerySet:
    """The people in a block with ``user_id``, either way, as a one-column queryset (a
    caller may read it or fold it into a statement of its own)."""
    partner = Case(When(blocker_id=user_id, then=F("blocked_id")), default=F("blocker_id"))
    return (
        Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id))
        .annotate(partner=partner)
        .order_by()
        .values_list("partner", flat=True)
    )


def block_partners(*, user_ids: Iterable[Any]) -> dict[Any, set[Any]]:
    """For each of ``user_ids``: the people in a block with them, either way (one query)."""
    ids = set(user_ids)
    partners: dict[Any, set[Any]] = {user_id: set() for user_id in ids}
    if not ids:
        return partners
    rows = Block.objects.filter(Q(blocker_id__in=ids) | Q(blocked_id__in=ids)).values_list("blocker_id", "blocked_id")
    for blocker_id, blocked_id in rows:
        if blocker_id in partners:
            partners[blocker_id].add(blocked_id)
        if blocked_id in partners:
            partners[blocked_id].add(blocker_id)
    return partners


def has_blocked(*, blocker: User, blocked: User) -> bool:
    """True when ``blocker`` has blocked ``blocked`` (the blocked one must not reach them)."""
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()


def _count(queryset: QuerySet, *, outer_field: str) -> Coalesce:
    """A correlated ``COUNT(*)`` subquery: one per stat, so counts never multiply each other."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _available_products_count() -> Coalesce:
    """Listings a profile shows: available and not deleted. The model is reached through the
    reverse relation ``products`` (accounts sits below catalog and never imports it)."""
    relation = User._meta.get_field("products")
    model = relation.related_model
    if not isinstance(model, type):  # a model class, never "self" for a reverse relation
        raise TypeError("products must be a reverse relation")
    products = model._default_manager.filter(is_available=True, deleted_at__isnull=True)
    return _count(products, outer_field=relation.field.name)


def user_profile_get(*, username: str, viewer: User | None = None) -> User | None:
    """An active person by username (any case) with ``followers_count``, ``following_count``,
    ``products_count`` and, for a signed-in viewer, ``is_followed_by_viewer``."""
    qs = (
        User.objects.filter(username__iexact=username, is_active=True)
        .select_related("stats")
        .annotate(
            followers_count=_count(Follow.objects.all(), outer_field="following"),
            following_count=_count(Follow.objects.all(), outer_field="follower"),
            products_count=_available_products_count(),
        )
    )
    if viewer is not None and viewer.is_authenticated:
        qs = qs.annotate(is_followed_by_viewer=Exists(Follow.objects.filter(follower=viewer, following=OuterRef("pk"))))
    return qs.first()


def user_get_active(*, username: str) -> User | None:
    return User.objects.filter(username__iexact=username, is_active=True).first()


def followers_of(*, user: User) -> QuerySet[Follow]:
    """Who follows ``user``, newest first; the follower row comes in the same query."""
    return (
        Follow.objects.filter(following=user, follower__is_active=True)
        .select_related("follower")
        .order_by("-created_at", "-id")
    )


def following_of(*, user: User) -> QuerySet[Follow]:
    """Whom ``user`` follows, newest first."""
    return (
        Follow.objects.filter(follower=user, following__is_active=True)
        .select_related("following")
        .order_by("-created_at", "-id")
    )
