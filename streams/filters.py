from __future__ import annotations

import uuid

import django_filters
from django.db.models import QuerySet

from accounts.models import Follow
from catalog.models import Category
from streams.models import Stream, StreamStatus


class StreamFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=StreamStatus.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    seller = django_filters.CharFilter(method="filter_seller", help_text="The host's id or username.")
    following = django_filters.BooleanFilter(
        method="filter_following", help_text="true: only streams of people I follow."
    )

    class Meta:
        model = Stream
        fields = ("status", "category", "seller", "following")

    def filter_seller(self, queryset: QuerySet[Stream], name: str, value: str) -> QuerySet[Stream]:
        try:
            return queryset.filter(user_id=uuid.UUID(value))
        except ValueError:
            return queryset.filter(user__username__iexact=value)

    def filter_following(self, queryset: QuerySet[Stream], name: str, value: bool | None) -> QuerySet[Stream]:
        if not value:
            return queryset
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        return queryset.filter(user__in=Follow.objects.filter(follower=user).values("following"))
