"""The products list's fast parameter parser agrees with ProductFilter, which it stands in for."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from catalog.filters import ProductFilter, parse_search_params
from catalog.models import Product

QUERIES = [
    "",
    "lat=25.0805&lng=55.1403&radius_km=5&ordering=distance",
    "lat=-90&lng=180&radius_km=0.5",
    "q=iphone&ordering=relevance",
    "q=yezy&category=sneakers&condition=new&feed_type=discover",
    "min_price=10&max_price=50.00&ordering=price",
    "min_price=0&ordering=-price&include_sold=true",
    "include_sold=false&seller=noura&ordering=popular",
    "seller=5f0e8a8e-1c1d-4d0e-9a43-1b7e2a8f3c11&page=2&page_size=50",
    "ordering=newest&unknown=1",
]
FALLBACKS = [
    "lat=25",
    "radius_km=3",
    "ordering=distance",
    "lat=95&lng=55",
    "lat=north&lng=55",
    "lat=25&lng=55&radius_km=0",
    "category=cars",
    "category=",
    "min_price=abc",
    "min_price=1e3",
    "min_price=100&max_price=10",
    "include_sold=yes",
    "q=%20padded%20",
    "q=" + "x" * 201,
]


@pytest.mark.parametrize("query", QUERIES)
def test_plainly_valid_parameters_parse_to_the_filtersets_cleaned_data(query):
    # given parameters ProductFilter accepts
    params = QueryDict(query)
    filterset = ProductFilter(params, queryset=Product.objects.none())
    assert filterset.is_valid(), filterset.errors
    expected = {k: v for k, v in filterset.form.cleaned_data.items() if v not in (None, "")}
    # when the fast parser reads them, then it finds the same values
    assert parse_search_params(params) == expected


@pytest.mark.parametrize("query", FALLBACKS)
def test_anything_else_is_left_to_the_filterset(query):
    # given parameters the fast parser does not vouch for, then it hands them over (None)
    assert parse_search_params(QueryDict(query)) is None
