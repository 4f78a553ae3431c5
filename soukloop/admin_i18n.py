"""Arabic (and any language) for the admin's model names and field labels without touching
the models: each app's ``admin.py`` hands lazily translated names for the fields whose label
Django derives from the attribute name. Only ``verbose_name`` is set, never the constructor
argument migrations record, so no migration follows and the English text stays the same."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.utils.functional import Promise


def translate_labels(
    model: type[models.Model],
    labels: dict[str, Promise],
    *,
    name: Promise | None = None,
    plural: Promise | None = None,
) -> None:
    for field_name, label in labels.items():
        field = model._meta.get_field(field_name)
        if getattr(field, "_verbose_name", None) is None:  # a label the model chose itself stays
            field.verbose_name = label
    if name is not None:
        model._meta.verbose_name = name
    if plural is not None:
        model._meta.verbose_name_plural = plural


def translate_app(label: str, name: Promise) -> None:
    apps.get_app_config(label).verbose_name = name
