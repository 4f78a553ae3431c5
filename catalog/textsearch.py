# ruff: noqa: RUF001, RUF002 - Arabic text on purpose
"""Search text in both languages: one normaliser for listings and queries alike.

``terms(text)`` turns a title, tags or description into the words the index holds, and a
query into the words it looks for, so both meet whatever the spelling:

- Latin: lower case, accents removed (``Pokémon`` -> ``pokemon``, ``café`` -> ``cafe``).
- Arabic letters: alef forms ``إأآٱ`` -> ``ا``, taa marbuta ``ة`` -> ``ه``, alef maksura
  ``ى`` -> ``ي``, tatweel and harakat (diacritics ``\u064b-\u0652``, superscript alef) removed,
  Arabic-Indic digits to ASCII.
- A light Arabic stemmer (``arabic_stem``): the article and attached particles in front
  (``ال``, ``وال``, ``بال``, ``كال``, ``فال``, ``لل``) and the common suffixes (sound plurals
  ``ات``/``ون``/``ين``, dual ``ان``, taa marbuta, the ``يه``/``ية`` adjective ending and attached
  pronouns ``ها``/``هم``) are stripped while at least three letters remain. ``ساعة`` and
  ``ساعات`` both give ``ساع``; PostgreSQL's ``arabic`` snowball configuration gives ``ساع`` and
  ``ساعا`` (docs/catalog.md has the comparison).
- ``expansions``: a small transliteration table, so ``iphone`` also looks for ``ايفون`` and
  ``ايفون`` also for ``iphone`` (``TRANSLITERATIONS`` is the whole list).

On PostgreSQL the listing's terms go into ``search_vector`` through the ``soukloop_simple``
configuration (simple + unaccent, migration 0005); on SpatiaLite the same terms, kept in the
``search_terms`` column, are matched with LIKE.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Latin and Arabic brand / product names people type either way. Keys and values are
# already normalised (``terms`` of them is themselves).
TRANSLITERATIONS: dict[str, tuple[str, ...]] = {
    "apple": ("ابل",),
    "iphone": ("ايفون",),
    "ipad": ("ايباد",),
    "macbook": ("ماكبوك",),
    "airpods": ("ايربودز",),
    "samsung": ("سامسونج",),
    "galaxy": ("جالكسي", "جلاكسي"),
    "huawei": ("هواوي",),
    "xiaomi": ("شاومي",),
    "sony": ("سوني",),
    "playstation": ("بلايستيشن", "بلاستيشن"),
    "nintendo": ("نينتندو",),
    "dyson": ("دايسون",),
    "nike": ("نايك",),
    "adidas": ("اديداس",),
    "jordan": ("جوردن",),
    "yeezy": ("ييزي",),
    "puma": ("بوما",),
    "gucci": ("غوتشي", "قوتشي"),
    "dior": ("ديور",),
    "chanel": ("شانيل",),
    "rolex": ("رولكس",),
    "casio": ("كاسيو",),
    "pokemon": ("بوكيمون",),
    "lego": ("ليغو", "ليجو"),
    "ikea": ("ايكيا",),
    "oud": ("عود",),
    "kandura": ("كندوره",),
    "abaya": ("عبايه",),
}

_HARAKAT = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # diacritics, superscript alef, tatweel
_ARABIC_LETTERS = str.maketrans(
    {
        "إ": "ا",
        "أ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
    }
)
_WORD = re.compile(r"[0-9a-z\u0621-\u064a]+")
_ARABIC = re.compile(r"[\u0621-\u064a]")
# Longest first; stripped only while at least MIN_STEM letters remain.
_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_SUFFIXES = ("هما", "ات", "ون", "ين", "ان", "يه", "ها", "هم", "ه", "ي")
MIN_STEM = 3


def normalise(text: str) -> str:
    """Lower case, accents and Arabic variants folded, diacritics and tatweel dropped."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or "\u0610" <= ch <= "\u065f")
    text = unicodedata.normalize("NFC", text)  # recompose Arabic hamza forms split by NFKD
    text = _HARAKAT.sub("", text)
    return text.translate(_ARABIC_LETTERS)


def arabic_stem(word: str) -> str:
    """Light stem of one normalised Arabic word (a Latin word comes back as it is)."""
    if not _ARABIC.match(word):
        return word
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM:
            word = word[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            word = word[: -len(suffix)]
            break
    return word


def words(text: str) -> list[str]:
    """The normalised words of ``text`` (unstemmed)."""
    return _WORD.findall(normalise(text))


def terms(text: str) -> list[str]:
    """The index terms of ``text``: normalised words, Arabic ones light-stemmed."""
    return [arabic_stem(word) for word in words(text)]


_REVERSE: dict[str, str] = {}
for _latin, _arabic_forms in TRANSLITERATIONS.items():
    for _form in _arabic_forms:
        _REVERSE[" ".join(terms(_form))] = _latin


def expansions(word: str) -> list[str]:
    """Other spellings of one normalised query word (stemmed terms), from the table."""
    if word in TRANSLITERATIONS:
        return [" ".join(terms(form)) for form in TRANSLITERATIONS[word]]
    latin = _REVERSE.get(arabic_stem(word))
    return [latin] if latin else []


def document(*parts: Iterable[str] | str) -> str:
    """The listing's index terms as one space-separated string (what ``search_terms`` holds)."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.extend(terms(part))
        else:
            for item in part:
                out.extend(terms(str(item)))
    return " ".join(out)


def query_groups(q: str, *, max_words: int = 8) -> list[list[str]]:
    """A query as AND-ed groups of OR-ed alternatives: each word with its transliterations.
    ``ساعة ابل`` -> ``[["ساع"], ["ابل", "apple"]]``. At most ``max_words`` words."""
    groups: list[list[str]] = []
    for word in words(q)[:max_words]:
        stem = arabic_stem(word)
        alternatives = [stem, *expansions(word)]
        groups.append(list(dict.fromkeys(alternatives)))
    return groups
