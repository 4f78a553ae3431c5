"""The API's JSON renderer (soukloop.renderers) writes what DRF's own renderer wrote, byte for
byte, for every kind of value the API sends; only the spelling of float exponents differs."""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from soukloop.renderers import JSONRenderer

DRF, OURS = renderers.JSONRenderer(), JSONRenderer()

VALUES = {
    "text": 'Pokémon سجادة 🙂 "quoted" back\\slash\nline\ttab \x00\x1f',
    "line separators": "before\u2028between\u2029after",
    "utc datetime": datetime(2026, 12, 4, 21, 5, 9, 120000, tzinfo=UTC),
    "utc datetime, no fraction": datetime(2026, 12, 4, 21, 5, 9, tzinfo=UTC),
    "dubai datetime": datetime(2026, 12, 5, 1, 5, 9, tzinfo=ZoneInfo("Asia/Dubai")),
    "zero offset zone": datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Europe/London")),
    "fixed offset": datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    "naive datetime": datetime(2026, 12, 4, 21, 5, 9, 7),
    "date": date(2026, 12, 4),
    "time": time(21, 5, 9, 120000),
    "duration": timedelta(hours=1, seconds=0.5),
    "decimal": Decimal("1499.50"),
    "uuid": uuid.UUID("5a0c1f4e-9b1d-4c55-8d7e-2f6a3b9c1d20"),
    "lazy translation": gettext_lazy("Unknown category."),
    "error detail": ErrorDetail("This field is required.", code="required"),
    "serializer output": ReturnDict(OrderedDict(id=1, title="Sofa"), serializer=None),
    "serializer list": ReturnList([{"a": 1}, {"b": [True, False, None]}], serializer=None),
    "nested": {"results": [{"price": "1499.50", "attributes": {"size_eu": 42.5}}], "next": None},
    "integer keys": {1: "one", 2: "two"},
    "a set": {3},
    "a tuple": (1, "two", 3.0),
    "big and small ints": [0, -1, 2**63 - 1, -(2**63)],
    "empty": [{}, [], ""],
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_the_same_bytes_as_drfs_renderer(value):
    assert OURS.render(value) == DRF.render(value)


def test_line_separators_are_escaped_for_javascript():
    assert OURS.render("a\u2028b\u2029c") == b'"a\\u2028b\\u2029c"'


def test_integers_beyond_64_bits_and_indented_output_are_drfs():
    assert OURS.render({"n": 2**70}) == DRF.render({"n": 2**70}) == b'{"n":1180591620717411303424}'
    indented = OURS.render({"a": [1]}, "application/json; indent=2")
    assert indented == DRF.render({"a": [1]}, "application/json; indent=2") == b'{\n  "a": [\n    1\n  ]\n}'


def test_nothing_to_send_is_empty_and_what_cannot_be_written_still_fails():
    assert OURS.render(None) == b""
    with pytest.raises(TypeError):
        OURS.render({"x": object()})


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_the_same_numbers(number):
    # shortest round-trip digits from both; only the exponent's spelling may differ (1e16, 1e+16)
    assert json.loads(OURS.render({"f": number})) == json.loads(DRF.render({"f": number}))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_shaped_value_renders_identically(value):
    assert OURS.render(value) == DRF.render(value)


def test_the_api_answers_through_it(api_client):
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] == ["soukloop.renderers.JSONRenderer"]
    response = api_client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="ar")

    assert isinstance(response.accepted_renderer, JSONRenderer)
    assert "\\u" not in response.content.decode()  # Arabic labels as UTF-8, as before
