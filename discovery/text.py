"""Words for matching saved searches: case- and accent-folded (``Pokémon`` = ``pokemon``),
Arabic letters normalised (alef forms, taa marbuta, alef maqsura, tatweel, diacritics)."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
# Written as code points: the letters look like Latin ones to linters and reviewers.
_ALEF, _HEH, _YEH = "\u0627", "\u0647", "\u064a"
_ARABIC = str.maketrans(
    {
        "\u0623": _ALEF,  # alef with hamza above
        "\u0625": _ALEF,  # alef with hamza below
        "\u0622": _ALEF,  # alef with madda
        "\u0671": _ALEF,  # alef wasla
        "\u0629": _HEH,  # taa marbuta
        "\u0649": _YEH,  # alef maqsura
        "\u0640": None,  # tatweel
    }
)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped).translate(_ARABIC)


def words(text: str) -> set[str]:
    return set(_WORD.findall(fold(text)))


def query_words(q: str) -> list[str]:
    """A query's words, longest (the rarest, usually) first; ``-word`` exclusions dropped."""
    kept = [word for word in q.split() if not word.startswith("-")]
    found = words(" ".join(kept))
    return sorted(found, key=lambda word: (-len(word), word))
