"""The Moderators group: what people who work the admin queues may do, without superuser.

Kept in sync after every ``migrate`` (permissions only exist once post_migrate has run, so
a data migration cannot grant them reliably). Names that do not exist yet are skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

logger = logging.getLogger(__name__)

MODERATORS_GROUP = "Moderators"

MODERATOR_PERMISSIONS: tuple[str, ...] = (
    "accounts.view_user",
    "accounts.change_user",
    "accounts.view_follow",
    "accounts.view_block",
    "catalog.view_product",
    "catalog.change_product",
    "catalog.view_productlike",
    "messaging.view_conversation",
    "messaging.view_message",
    "messaging.view_offer",
    "messaging.view_report",
    "messaging.change_report",
    "streams.view_stream",
    "streams.change_stream",
    "streams.view_streamproduct",
    "auctions.view_auction",
    "auctions.change_auction",  # the "void selected lots" action
    "auctions.view_bid",
    "payments.view_transaction",
    "verification.view_verification",
    "verification.change_verification",
    "verification.review_verification",
    "verification.view_verification_document",
    "verification.view_verificationauditlog",
    "admin.view_logentry",  # the moderation log: every moderator action, who, why, when
    "trust.view_claim",
    "trust.view_escalatedclaim",
    "trust.change_escalatedclaim",
    "trust.view_review",
    "trust.change_review",
)


def _last_app_with_models() -> Any:
    return [config for config in apps.get_app_configs() if config.models_module is not None][-1]


def sync_moderators_group(*, using: str = DEFAULT_DB_ALIAS) -> Group:
    """Give the Moderators group its permissions (creating the group if needed); idempotent.
    Four queries, whatever the number of permissions."""
    wanted = Q()
    for name in MODERATOR_PERMISSIONS:
        app_label, codename = name.split(".", 1)
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group, _ = Group.objects.using(using).get_or_create(name=MODERATORS_GROUP)
    if not wanted:  # an empty Q() matches every permission: an empty list grants none
        return group
    group.permissions.add(*Permission.objects.using(using).filter(wanted))
    return group


def sync_moderators_group_after_migrate(*, app_config: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """The ``post_migrate`` receiver. The signal is sent once per app (and after every test
    database flush), and every app's permissions exist only after the last one's: the sync
    runs for that one alone."""
    if app_config is _last_app_with_models():
        sync_moderators_group(using=using)
