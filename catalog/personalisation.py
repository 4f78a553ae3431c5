"""The signed-in Discover feed's hook: catalog ranks listings for everyone; an app above it
(``discovery``, which knows likes, follows, purchases and saved searches) registers a
personaliser in its ``AppConfig.ready()`` and the Discover view asks it, without importing it
(the pattern of ``catalog.holds``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalPage:
    """One page of a personalised feed: ``LIST_VALUES`` rows and the opaque cursor of the next
    page (``None`` at the end)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


# personaliser(user=, category=, cursor=, limit=) -> PersonalPage
Personaliser = Callable[..., PersonalPage]

_personaliser: list[Personaliser] = []


def register_discover_personaliser(personaliser: Personaliser) -> None:
    """Register (or replace: ``ready()`` may run twice in tests) the personaliser."""
    _personaliser[:] = [personaliser]


def discover_personaliser() -> Personaliser | None:
    return _personaliser[0] if _personaliser else None
