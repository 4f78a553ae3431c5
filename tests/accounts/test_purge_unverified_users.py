"""manage.py purge_unverified_users --days N [--yes]."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _aged(days: int, **kwargs) -> User:
    user = UserFactory(is_verified=False, **kwargs)
    User.objects.filter(pk=user.pk).update(created_at=timezone.now() - timedelta(days=days))
    return user


def _run(*args) -> str:
    out = StringIO()
    call_command("purge_unverified_users", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def population(db):
    return {
        "old_unverified": _aged(40),
        "young_unverified": _aged(5),
        "old_verified": UserFactory(is_verified=True),
        "old_unverified_seller": _aged(40, role="seller"),
        "old_unverified_staff": _aged(40, is_staff=True),
    }


def test_dry_run_counts_and_deletes_nothing(population):
    ProductFactory(seller=population["old_unverified_seller"])

    output = _run("--days", "30")

    assert "Dry run: 1 " in output
    assert User.objects.count() == 5


def test_yes_deletes_only_old_unverified_accounts_without_history(population):
    User.objects.filter(pk=population["old_verified"].pk).update(created_at=timezone.now() - timedelta(days=90))
    ProductFactory(seller=population["old_unverified_seller"])

    output = _run("--days", "30", "--yes")

    assert "Deleted 1 " in output
    assert not User.objects.filter(pk=population["old_unverified"].pk).exists()
    remaining = set(User.objects.values_list("pk", flat=True))
    for kept in ("young_unverified", "old_verified", "old_unverified_seller", "old_unverified_staff"):
        assert population[kept].pk in remaining


def test_running_twice_is_idempotent(population):
    _run("--days", "30", "--yes")

    assert "Deleted 0 " in _run("--days", "30", "--yes")


def test_users_with_conversations_or_messages_are_kept(db):
    from messaging.models import Conversation, Message

    buyer = _aged(40)
    product = ProductFactory()
    conversation = Conversation.objects.create(buyer=buyer, seller=product.seller, product=product)
    Message.objects.create(conversation=conversation, sender=buyer, content="Is it still available?")

    _run("--days", "30", "--yes")

    assert User.objects.filter(pk=buyer.pk).exists()


def test_days_must_be_positive(db):
    with pytest.raises(CommandError):
        _run("--days", "0")
