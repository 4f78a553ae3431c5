"""Who may subscribe to what (sync; the consumer calls these through database_sync_to_async).

- ``user``: the signed-in socket's own events;
- ``conversation:<id>``: its two participants, unless one has blocked the other;
- ``stream:<id>``: anyone who may see the stream (anonymous viewers too), i.e. not a viewer
  the host blocked.
A refusal names a stable code; the socket answers it with an ``error`` frame.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from accounts.models import Block, User
from messaging.models import Conversation
from streams.models import Stream
from streams.selectors import streams_visible_to


@dataclass
class Refusal(Exception):
    code: str
    detail: str


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def user_for(user_id: str | None) -> User | None:
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def resolve_channel(*, user: User | None, channel: object) -> str:
    """The internal channel (``user:<id>``, ``conversation:<id>``, ``stream:<id>``) or Refusal."""
    if not isinstance(channel, str):
        raise Refusal("invalid_channel", "channel must be user, conversation:<id> or stream:<id>.")
    if channel == "user":
        if user is None:
            raise Refusal("not_authenticated", "Sign in to receive your own events.")
        return f"user:{user.pk}"
    kind, _sep, ident = channel.partition(":")
    pk = _uuid(ident)
    if kind not in ("conversation", "stream") or pk is None:
        raise Refusal("invalid_channel", "channel must be user, conversation:<id> or stream:<id>.")
    if kind == "conversation":
        if user is None:
            raise Refusal("not_authenticated", "Sign in to follow a conversation.")
        conversation = Conversation.objects.filter(Q(buyer=user) | Q(seller=user), pk=pk).first()
        if conversation is None:
            raise Refusal("conversation_not_found", "Conversation not found.")
        other = conversation.seller_id if conversation.buyer_id == user.pk else conversation.buyer_id
        if Block.objects.filter(Q(blocker=user, blocked_id=other) | Q(blocker_id=other, blocked=user)).exists():
            raise Refusal("conversation_not_found", "Conversation not found.")
        return f"conversation:{pk}"
    if not streams_visible_to(user=user or AnonymousUser()).filter(pk=pk).exists():
        raise Refusal("stream_not_found", "Stream not found.")
    return f"stream:{pk}"


def stream_for(*, user: User | None, stream_id: object) -> Stream:
    pk = _uuid(str(stream_id))
    stream = streams_visible_to(user=user or AnonymousUser()).filter(pk=pk).first() if pk else None
    if stream is None:
        raise Refusal("stream_not_found", "Stream not found.")
    return stream
