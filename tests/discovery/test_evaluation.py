"""seed_demo's simulated likes (per-person tastes, idempotent) and evaluate_discover."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import ProductLike

pytestmark = pytest.mark.django_db(transaction=True)


def test_simulated_likes_follow_tastes_and_evaluation_reports_both_feeds(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--products", "360", "--users", "24", "--likes-per-user", "10", stdout=StringIO())
    likes = ProductLike.objects.count()
    # every demo person has likes, mostly in a couple of categories, never their own listings
    assert likes >= 24 * 8
    assert not ProductLike.objects.filter(product__seller_id=models_user_id()).exists()
    per_person = Counter()
    for user_id, category in ProductLike.objects.values_list("user_id", "product__category"):
        per_person[(user_id, category)] += 1
    top_share = []
    for user_id in set(ProductLike.objects.values_list("user_id", flat=True)):
        counts = sorted((n for (uid, _c), n in per_person.items() if uid == user_id), reverse=True)
        top_share.append(sum(counts[:2]) / sum(counts))
    assert sum(top_share) / len(top_share) > 0.5  # favourite categories dominate
    # and a second run adds none (idempotent)
    call_command("seed_demo", "--products", "360", "--users", "24", "--likes-per-user", "10", stdout=StringIO())
    assert ProductLike.objects.count() == likes

    out = StringIO()
    call_command("evaluate_discover", "--min-likes", "4", stdout=out)

    text = out.getvalue()
    assert "people, 25% of their likes held out" in text
    assert "recall@20: personalised 0." in text and "global 0." in text


def models_user_id():
    from django.db.models import F

    return F("user_id")


def test_evaluation_without_likes_says_so():
    out = StringIO()
    call_command("evaluate_discover", stdout=out)
    assert "Nobody has enough likes" in out.getvalue()
