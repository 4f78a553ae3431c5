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


KEY_CHARS = 100  # a word as the index keeps it


def pair_key(first: str, second: str) -> str:
    """Two words as one index key, the same whichever comes first."""
    a, b = sorted((first[:KEY_CHARS], second[:KEY_CHARS]))
    return f"{a} {b}"


def pair_keys(found: set[str]) -> list[str]:
    """Every pair of ``found`` as ``pair_key`` gives it (n(n-1)/2 of them)."""
    ordered = sorted({word[:KEY_CHARS] for word in found})
    return [f"{a} {b}" for index, a in enumerate(ordered) for b in ordered[index + 1 :]]
