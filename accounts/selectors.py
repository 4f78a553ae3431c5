from __future__ import annotations

from django.db.models import Q

from accounts.models import Block, User


def is_blocked_between(*, user_a: User, user_b: User) -> bool:
    """True when either person has blocked the other."""
    return Block.objects.filter(Q(blocker=user_a, blocked=user_b) | Q(blocker=user_b, blocked=user_a)).exists()


def has_blocked(*, blocker: User, blocked: User) -> bool:
    """True when ``blocker`` has blocked ``blocked`` (the blocked one must not reach them)."""
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()
