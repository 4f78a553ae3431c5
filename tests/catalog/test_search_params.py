"""The products list's one parameter parser (catalog.params) and the schema made from its table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from catalog.params import PARAMS, parse_search_params

PARSED = [
    ("", {}),
    (
        "lat=25.0805&lng=55.1403&radius_km=5&ordering=distance",
        {"lat": Decimal("25.0805"), "lng": Decimal("55.1403"), "radius_km": Decimal(5), "ordering": "distance"},
    ),
    ("q=iphone&ordering=relevance", {"q": "iphone", "ordering": "relevance"}),
    ("q=%20padded%20", {"q": "padded"}),
    (
        "min_price=0&max_price=50.00&ordering=price",
        {"min_price": Decimal(0), "max_price": Decimal(50), "ordering": "price"},
    ),
    ("include_sold=true&seller=noura", {"include_sold": True, "seller": "noura"}),
    ("include_sold=0", {"include_sold": False}),
    ("category=&q=", {}),  # empty parameters filter nothing
    ("ordering=newest&unknown=1&page=2", {"ordering": "newest"}),
]

BAD = [
    ("lat=25", {"lng"}),
    ("radius_km=3", {"radius_km"}),
    ("ordering=distance", {"ordering"}),
    ("lat=95&lng=55", {"lat"}),
    ("lat=north&lng=55", {"lat"}),
    ("lat=25&lng=55&radius_km=0", {"radius_km"}),
    ("category=cars", {"category"}),
    ("min_price=abc", {"min_price"}),
    ("min_price=1e3", {"min_price"}),
    ("min_price=-1", {"min_price"}),
    ("min_price=100&max_price=10", {"max_price"}),
    ("include_sold=yes", {"include_sold"}),
    ("q=" + "x" * 201, {"q"}),
    ("q=a%00b", {"q"}),
    ("category=cars&condition=broken&lat=north", {"category", "condition", "lat"}),
]


@pytest.mark.parametrize(("query", "expected"), PARSED)
def test_valid_parameters_parse_to_typed_values(query, expected):
    assert parse_search_params(QueryDict(query)) == expected


@pytest.mark.parametrize(("query", "attrs"), BAD)
def test_every_bad_parameter_is_named_in_one_error(query, attrs):
    with pytest.raises(ValidationError) as caught:
        parse_search_params(QueryDict(query))
    assert set(caught.value.detail) == attrs


@pytest.mark.django_db
def test_the_schema_lists_exactly_the_parameters_the_parser_reads_with_their_types(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/products/"]["get"]
    declared = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert set(declared) - {"page", "page_size"} == {param.name for param in PARAMS}
    assert declared["lat"]["type"] == declared["radius_km"]["type"] == "number"
    assert declared["include_sold"]["type"] == "boolean"
    assert "sneakers" in declared["category"]["enum"]
    assert set(declared["ordering"]["enum"]) == {"newest", "price", "-price", "distance", "popular", "relevance"}
