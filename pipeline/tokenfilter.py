"""Token filters shared by the key terms (``pipeline.keyterms``) and the frequency lists
(``pipeline.analyses.word_frequencies``), so that both drop the same tokens and show the same
spelling.

- **places**: a token Sudachi labels a place name (名詞-固有名詞-地名: 地名-国 インド, 地名-一般
  アジア) or whose form is one of the lexicon's country or region aliases.
- **Latin fragments**: a word in Latin letters that Sudachi's dictionary does not know (it has no
  katakana reading, and its normalized form is lower-cased: CET → cet) and the lexicon does not
  know either, of at most a few letters, is a piece of an abbreviation, a unit or an address,
  whose meaning is not in the token (cet of (CET)). Such a word when longer is a word as printed
  (CHIPS, AUKUS). Words Sudachi knows (AI, IoT, EV, NIST: they have a reading) are kept as they are.
- **display forms**: terms are counted by Sudachi's normalized form (自強 and 自彊, それぞれ and
  其々 are one term) but shown in the spelling the document uses most (``spelling``: the dictionary
  form as the document writes it, 進め → 進める; ``display_forms``), not in the normalized one,
  which a Japanese reader finds odd (其々).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping

from pipeline.lexicon import Lexicon, token_norm

PLACE_LABELS = ("COUNTRY", "REGION")
PLACE_POS_DETAIL = "固有名詞-地名"  # Sudachi's place names: 地名-国, 地名-一般


def place_names(lexicon: Lexicon) -> frozenset[str]:
    """Every country and region alias of ``lexicon``, in the form tokens are compared in
    (case-folded), whether or not the place can be a subject (西側諸国 too).

    Parameters:
        lexicon: the run's lexicon.
    """
    return frozenset(token_norm(a) for e in lexicon.entries.values() if e.label in PLACE_LABELS for a in e.aliases)


def known_words(lexicon: Lexicon) -> frozenset[str]:
    """Every alias of ``lexicon`` (any label), case-folded: Latin words it knows are no fragments.

    Parameters:
        lexicon: the run's lexicon.
    """
    return frozenset(token_norm(a) for e in lexicon.entries.values() for a in e.aliases)


def is_place(surface: str, norm: str, detail: str, places: frozenset[str]) -> bool:
    """Whether a token is the name of a place: Sudachi says so (固有名詞-地名), or the lexicon
    has it as a country or region alias.

    Parameters:
        surface, norm, detail: the token's surface, Sudachi normalized form and POS detail.
        places: ``place_names(lexicon)`` (empty: Sudachi's POS alone decides).
    """
    return PLACE_POS_DETAIL in detail or token_norm(norm) in places or token_norm(surface) in places


def is_unknown_latin(norm: str, reading: str | None) -> bool:
    """Whether a token is a word in Latin letters that Sudachi's dictionary does not know (its
    reading is not katakana but the letters themselves).

    Parameters:
        norm: the token's normalized form; reading: its reading (None when not recorded).
    """
    return norm.isascii() and norm.isalpha() and reading is not None and reading.isascii()


def is_latin_fragment(surface: str, norm: str, reading: str | None, max_letters: int, known: frozenset[str]) -> bool:
    """Whether a token is a fragment of Latin letters (cet of (CET)): unknown to Sudachi, at most
    ``max_letters`` letters, and not one of the lexicon's words.

    Parameters:
        surface, norm, reading: the token's surface, normalized form and reading.
        max_letters: the longest unknown Latin word that is a fragment.
        known: ``known_words(lexicon)``.
    """
    return is_unknown_latin(norm, reading) and len(surface) <= max_letters and token_norm(surface) not in known


def spelling(surface: str, dictionary_form: str | None, norm: str, reading: str | None) -> str:
    """How the document spells a token's word: its dictionary form in the document's own spelling
    (自強, それぞれ; 進め → 進める), or, for a Latin word Sudachi does not know, the letters as
    printed (CHIPS, where Sudachi gives chips).

    Parameters:
        surface, dictionary_form, norm, reading: the token's surface, dictionary form (None: the
            surface), normalized form and reading.
    """
    if is_unknown_latin(norm, reading) or not dictionary_form:
        return surface
    return dictionary_form


def display_forms(surfaces: Mapping[Hashable, Counter[str]]) -> dict:
    """Each term's most frequent surface form (ties: the one seen first), to show it in.

    Parameters:
        surfaces: term (as counted: the normalized form, or any key holding it) → how often each
            spelling (``spelling``) wrote it.
    """
    return {term: counts.most_common(1)[0][0] if counts else term for term, counts in surfaces.items()}
