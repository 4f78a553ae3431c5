from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Notification


def inbox(*, user: User) -> QuerySet[Notification]:
    """A person's inbox (what they switched to in-app), newest first."""
    return Notification.objects.filter(user=user, in_inbox=True).only(
        "id", "kind", "title", "body", "data", "is_read", "created_at"
    )


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, in_inbox=True, is_read=False).count()


def deliveries_dead_count() -> int:
    """Deliveries whose every attempt failed (the dead letters of push, SMS and e-mail)."""
    from notifications.models import Delivery, DeliveryStatus

    return Delivery.objects.filter(status=DeliveryStatus.DEAD).count()
