"""Item attributes per category: the one table behind ``GET /categories/``, the validation of a
listing's ``attributes`` and the ``attr.<key>`` filters of the products list.

A value is stored in ``Product.attributes`` (JSON) as: a choice's key (a string), a number
(JSON number), or text (a trimmed string of at most ``MAX_TEXT`` characters). Filters match
values exactly (text included: ``attr.brand=Nike`` does not find ``nike``), so common values
are choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from catalog.models import Category

MAX_TEXT = 100


@dataclasses.dataclass(frozen=True)
class Attribute:
    key: str
    label: Any  # lazy translation: English in code, Arabic in catalog/locale
    type: str  # "text", "number" or "choice"
    choices: tuple[tuple[str, Any], ...] = ()
    required: bool = False
    min_value: Decimal | None = None
    max_value: Decimal | None = None

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": str(self.label), "type": self.type, "required": self.required}
        if self.type == "choice":
            data["choices"] = [{"key": key, "label": str(label)} for key, label in self.choices]
        return data


def _halves(low: int, high: int) -> tuple[tuple[str, str], ...]:
    sizes = []
    for tenth in range(low * 10, high * 10 + 1, 5):
        text = f"{tenth // 10}" if tenth % 10 == 0 else f"{tenth // 10}.5"
        sizes.append((text, text))
    return tuple(sizes)


GRADES: tuple[tuple[str, Any], ...] = (("raw", _("Raw (ungraded)")), *((str(n), str(n)) for n in range(1, 11)))
GRADERS: tuple[tuple[str, Any], ...] = (("psa", "PSA"), ("bgs", "BGS"), ("cgc", "CGC"), ("sgc", "SGC"))
BRAND = Attribute("brand", _("Brand"), "text")
COLOUR = Attribute("colour", _("Colour"), "text")
CARD_SET = Attribute("set", _("Set"), "text")
GRADE = Attribute("grade", _("Grade"), "choice", GRADES)
GRADED_BY = Attribute("graded_by", _("Graded by"), "choice", GRADERS)

ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    Category.TRADING_CARDS: (
        Attribute(
            "game",
            _("Game"),
            "choice",
            (
                ("pokemon", "Pokémon"),
                ("yugioh", "Yu-Gi-Oh!"),
                ("magic", "Magic: The Gathering"),
                ("one_piece", "One Piece"),
                ("other", _("Other")),
            ),
            required=True,
        ),
        CARD_SET,
        GRADE,
        GRADED_BY,
    ),
    Category.SPORTS_CARDS: (
        Attribute(
            "sport",
            _("Sport"),
            "choice",
            (
                ("football", _("Football")),
                ("basketball", _("Basketball")),
                ("cricket", _("Cricket")),
                ("f1", _("Formula 1")),
                ("other", _("Other")),
            ),
            required=True,
        ),
        CARD_SET,
        GRADE,
        GRADED_BY,
    ),
    Category.SNEAKERS: (BRAND, Attribute("size_eu", _("EU size"), "choice", _halves(35, 50)), COLOUR),
    Category.ELECTRONICS: (
        BRAND,
        Attribute("model", _("Model"), "text"),
        Attribute("storage_gb", _("Storage (GB)"), "number", min_value=Decimal(0), max_value=Decimal(100000)),
    ),
    Category.MENS_FASHION: (
        BRAND,
        Attribute(
            "size",
            _("Size"),
            "choice",
            tuple((s, s) for s in ("XS", "S", "M", "L", "XL", "XXL", "3XL", "52", "54", "56", "58", "60", "62")),
        ),
        COLOUR,
    ),
    Category.COLLECTIBLES: (
        BRAND,
        Attribute("year", _("Year"), "number", min_value=Decimal(1800), max_value=Decimal(2100)),
    ),
    Category.HOME_DECOR: (Attribute("material", _("Material"), "text"), COLOUR),
    Category.BEAUTY: (
        BRAND,
        Attribute("volume_ml", _("Volume (ml)"), "number", min_value=Decimal(0), max_value=Decimal(10000)),
    ),
    Category.KIDS_BABY: (
        Attribute(
            "age_range",
            _("Age range"),
            "choice",
            (
                ("0-6m", _("0-6 months")),
                ("6-12m", _("6-12 months")),
                ("1-2y", _("1-2 years")),
                ("3-5y", _("3-5 years")),
                ("6-8y", _("6-8 years")),
                ("9-12y", _("9-12 years")),
            ),
        ),
        BRAND,
    ),
    Category.FURNITURE: (
        Attribute("material", _("Material"), "text"),
        COLOUR,
        Attribute("width_cm", _("Width (cm)"), "number", min_value=Decimal(0), max_value=Decimal(2000)),
    ),
    Category.BOOKS: (
        Attribute(
            "language",
            _("Language"),
            "choice",
            (("ar", _("Arabic")), ("en", _("English")), ("fr", _("French")), ("other", _("Other"))),
        ),
        Attribute("author", _("Author"), "text"),
    ),
    Category.OTHER: (),
}

BY_KEY: dict[str, dict[str, Attribute]] = {
    category: {attr.key: attr for attr in attrs} for category, attrs in ATTRIBUTES.items()
}
# Every key some category has (a filter without a category may use any of them), with the
# attribute that defines its type (the same key has one type in every category).
ALL_KEYS: dict[str, Attribute] = {}
for _attrs in ATTRIBUTES.values():
    for _attr in _attrs:
        ALL_KEYS.setdefault(_attr.key, _attr)
NUMBER_KEYS = frozenset(key for key, attr in ALL_KEYS.items() if attr.type == "number")


def describe(category: str) -> list[dict[str, Any]]:
    """The category's attributes for the API, labels in the active language."""
    return [attr.describe() for attr in ATTRIBUTES.get(category, ())]


def parse_number(raw: Any) -> int | float | None:
    """A JSON number from a number or a decimal string (``None``: not a number)."""
    if isinstance(raw, bool):
        return None
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def clean_value(attr: Attribute, raw: Any) -> tuple[Any, str | None]:
    """(stored value, None) or (None, error message) for one value."""
    if attr.type == "choice":
        value = str(raw).strip() if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
        if value not in {key for key, _label in attr.choices}:
            return None, str(_("Select a valid choice. That is not one of the choices."))
        return value, None
    if attr.type == "number":
        number = parse_number(raw) if isinstance(raw, str | int | float) else None
        if number is None:
            return None, str(_("Enter a number."))
        if attr.min_value is not None and number < attr.min_value:
            return None, str(_("Ensure this value is at least %s.") % attr.min_value)
        if attr.max_value is not None and number > attr.max_value:
            return None, str(_("Ensure this value is at most %s.") % attr.max_value)
        return number, None
    if not isinstance(raw, str) or not raw.strip():
        return None, str(_("Enter some text."))
    value = " ".join(raw.split())
    if len(value) > MAX_TEXT or "\x00" in value:
        return None, str(_("At most %d characters.") % MAX_TEXT)
    return value, None


def validate(category: str, values: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(cleaned attributes, errors keyed ``attributes.<key>``) for a listing of ``category``.
    A ``None`` value drops the key; an unknown key, a bad value or a missing required one is
    an error of its own."""
    errors: dict[str, list[str]] = {}
    if not isinstance(values, Mapping):
        return {}, {"attributes": [str(_("Send an object of attribute values."))]}
    known = BY_KEY.get(category, {})
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        attr = known.get(str(key))
        if attr is None:
            errors[f"attributes.{key}"] = [str(_("Not an attribute of this category."))]
            continue
        if raw is None:
            continue
        value, error = clean_value(attr, raw)
        if error:
            errors[f"attributes.{key}"] = [error]
        else:
            cleaned[attr.key] = value
    for attr in known.values():
        if attr.required and attr.key not in cleaned and f"attributes.{attr.key}" not in errors:
            errors[f"attributes.{attr.key}"] = [str(_("This attribute is required."))]
    return cleaned, errors


def labels_in(language: str, category: str) -> list[dict[str, Any]]:
    with override(language):
        return describe(category)
