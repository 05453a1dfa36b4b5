"""URLs in running text: where they are, and whether a line that ends in one is cut inside it.

Reports print URLs in the text and in notes, and wrap long ones over lines wherever the
typesetter could break them (after ``-``, ``/``, ``?``). Joining such lines must give the URL back
whole, without a space, and a ``?`` or ``!`` inside a URL must not end the sentence.
"""
from __future__ import annotations

import re
import unicodedata

# A URL in text, to its last character that may belong to it. Brackets are left out: Japanese
# text writes （https://…） (NFKC: (https://…)), and the closing bracket ends the note, not the URL.
_URL = re.compile(r"(?:https?|ftp)://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+|www\.[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+")
# Punctuation that ends prose after a URL rather than belonging to it (as linkifiers trim it).
_TRAILING = ".,;:!?'"
# The characters a URL may be cut after, and a run of URL characters at the start of a line.
_URL_AT_END = re.compile(r"(?:(?:https?|ftp)://|www\.)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*$")
_URL_RUN = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+")
# A URL never ends a sentence with these: a line ending in one was cut inside the URL.
_CUT_AFTER = "-_=&#%~+@"
# URL structure that prose does not have: a run starting a line with one of these goes on a URL.
_STRUCTURE = re.compile(r"[/?=&#%]")
_NEW_URL = re.compile(r"(?:https?|ftp)://|www\.", re.IGNORECASE)


def url_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the URLs in ``text``, without the punctuation that ends the
    sentence after one (``…/dataset?hl=ja。`` → the URL ends at ``ja``; ``…/TR/.`` at ``/``).

    Parameters:
        text: NFKC-normalized text (full-width Latin letters are not matched).
    """
    spans = []
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING:
            end -= 1
        spans.append((m.start(), end))
    return spans


def url_continues(left: str, right: str) -> bool:
    """Whether the line ``right`` goes on with a URL that the line ``left`` ends with, cut by the
    wrap (``…/collection/access-base-`` + ``registries/solution/…``, ``…/dataset?`` + ``hl=ja``):
    the two are then joined without a space, and as one paragraph.

    It does when ``left`` ends in a URL (nothing after it on the line), ``right`` starts with URL
    characters that do not begin a new URL, and either the URL is cut after a character no URL
    ends a sentence with (``-``, ``=``, ``&`` …) or those characters have a URL's structure
    (``/``, ``?``, ``=``, ``&``, ``#``, ``%``). ``https://x.org/`` followed by ``DCAT 2.0をベースに``
    does not: a complete URL and the next text.

    Parameters:
        left: the text of the line before, as extracted (NFKC is applied here).
        right: the text of the line after.
    """
    left = unicodedata.normalize("NFKC", left).rstrip()
    right = unicodedata.normalize("NFKC", right).lstrip()
    tail = _URL_AT_END.search(left)
    if tail is None or _NEW_URL.match(right):
        return False
    run = _URL_RUN.match(right)
    if run is None:
        return False
    return left[-1] in _CUT_AFTER or bool(_STRUCTURE.search(run.group()))
