"""Races on PostgreSQL: the last free saved-search place, and two percolator runs at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from discovery import services
from discovery.models import SavedSearch
from soukloop.errors import Conflict
from tests.concurrency import run_together
from tests.factories import ProductFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_saves_racing_for_the_last_place_leave_twenty(settings):
    person = UserFactory()
    for number in range(settings.SAVED_SEARCHES_MAX - 1):
        services.saved_search_create(user=person, params={"q": f"thing {number}"})

    results = run_together(
        [lambda n=n: services.saved_search_create(user=person, params={"q": f"racer {n}"}) for n in range(2)]
    )

    assert sorted(type(result).__name__ for result in results) == ["Conflict", "SavedSearch"]
    assert any(isinstance(result, Conflict) and result.code == "saved_search_limit" for result in results)
    assert SavedSearch.objects.filter(user=person).count() == settings.SAVED_SEARCHES_MAX


def test_two_runs_at_once_match_each_listing_once():
    services.percolate()
    services.saved_search_create(user=UserFactory(), params={"category": "books"})
    ProductFactory(category="books", title="Harry Potter box set")
    later = timezone.now() + timedelta(seconds=30)

    results = run_together([lambda: services.percolate(now=later), lambda: services.percolate(now=later)])

    assert sorted(result.listings for result in results) == [0, 1]
    assert sorted(result.alerts for result in results) == [0, 1]
