"""seed_demo: realistic, spread over weeks, idempotent, prints the moderator login."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max, Min

from accounts.models import User
from catalog.models import Category, Product
from catalog.ranking import hot_score

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_demo_loads_ranked_listings_over_weeks_and_tops_up(settings):
    settings.DEBUG = True  # the development set-up (make run)
    # when the demo data is loaded
    out = StringIO()
    call_command("seed_demo", "--products", "240", "--users", "12", stdout=out)
    # then there are listings in every category, spread over weeks, ranked for discover
    assert Product.objects.count() == 240
    assert set(Product.objects.values_list("category", flat=True)) == set(Category.values)
    span = Product.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert (span["last"] - span["first"]).days >= 14
    sample = Product.objects.order_by("?").first()
    expected = hot_score(created_at=sample.created_at, like_count=sample.like_count, view_count=sample.view_count)
    assert sample.hot_score == pytest.approx(expected)
    assert "username 'moderator', password 'souk-loop-demo'" in out.getvalue()
    assert User.objects.get(username="moderator").is_staff
    # and running again only tops up
    call_command("seed_demo", "--products", "300", "--users", "12", stdout=StringIO())
    call_command("seed_demo", "--products", "300", "--users", "12", stdout=StringIO())
    assert Product.objects.count() == 300
    assert User.objects.filter(username__startswith="demo_").count() == 12


def test_without_debug_seed_demo_makes_no_staff_account_with_the_published_password(settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("seed_demo", "--products", "20", "--users", "4", stdout=out)

    # the listings the benchmarks need are there, the well-known moderator login is not
    assert Product.objects.count() == 20
    assert not User.objects.filter(is_staff=True).exists()
    assert "souk-loop-demo" not in out.getvalue()
    assert "No demo moderator" in out.getvalue()


def test_without_debug_a_moderator_is_made_only_with_a_chosen_password(settings):
    settings.DEBUG = False

    call_command(
        "seed_demo", "--products", "5", "--users", "2", "--moderator-password", "Chosen-by-0ps", stdout=StringIO()
    )

    moderator = User.objects.get(username="moderator")
    assert moderator.is_staff and moderator.check_password("Chosen-by-0ps")
    assert not moderator.check_password("souk-loop-demo")


@pytest.mark.postgres
def test_seeded_listings_are_searchable_on_postgres(api_client):
    call_command("seed_demo", "--products", "480", "--users", "6", stdout=StringIO())
    assert not Product.objects.filter(search_vector__isnull=True).exists()
    assert Product.objects.filter(title__startswith="Yeezy", is_available=True).exists()
    results = api_client.get("/api/v1/products/", {"q": "yezy"}).json()["results"]
    assert results and all("Yeezy" in r["title"] for r in results)
