"""The Moderators group: what people who work the admin queues may do, without superuser.

Kept in sync after every ``migrate`` (permissions only exist once post_migrate has run, so
a data migration cannot grant them reliably). Names that do not exist yet are skipped.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import Group, Permission

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


def sync_moderators_group(**kwargs) -> Group:
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = []
    for name in MODERATOR_PERMISSIONS:
        app_label, codename = name.split(".", 1)
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is not None:
            wanted.append(perm)
    group.permissions.add(*wanted)
    return group
