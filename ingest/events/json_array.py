"""The text of each element of a JSON array, as sent: a batch's events are archived verbatim, as single events are.

Re-serialising a decoded element would not be the event as sent: an integer past 64 bits decodes to a float
(orjson), so `12345678901234567890` would be archived as `1.2345678901234567e19`, and key order, spacing and
escapes would change. The standard library's C scanner (`JSONDecoder.raw_decode`) says where each element
ends; it recurses once per nesting level, so an element nested deeper than the interpreter's recursion limit
allows (LINEAGE_MAX_JSON_DEPTH may be set up to 1000) is cut out by a flat scan of strings and brackets
instead, about five times slower.

Most producers send compact JSON, as orjson writes it: given the decoded elements, each is re-serialised and
compared with the text where it should start, and taken when it matches and is followed by `,` or `]` (a JSON
value ends where its text says, so a match is that element's text as sent); only an element that does not match
is found by the scanner, which builds every element as Python objects only to find where it ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import orjson

_DECODER = json.JSONDecoder()
BLANKS = " \t\r\n"  # JSON's whitespace (RFC 8259 section 2)
# A JSON string (escapes included), or one of the characters that open, close or separate values.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)
_OPEN = frozenset("[{")
_CLOSE = frozenset("]}")


def element_texts(text: str, decoded: Sequence[object] = ()) -> list[str]:
    """The text of every top-level element of `text`, a JSON array that a JSON parser has accepted, whose elements
    are `decoded` when the caller has them (they make compact elements cheap to find).

    Blanks around an element are not part of it. ValueError when `text` is not a JSON array.
    """
    start = _array_start(text)
    try:
        return _decoded_texts(text, start, decoded)
    except RecursionError:
        return scanned_texts(text, start)


def _array_start(text: str) -> int:
    """The index just past the `[` that opens the array (after a byte order mark and blanks)."""
    start = _skip_blanks(text, 1 if text.startswith("\ufeff") else 0)
    if not text.startswith("[", start):
        raise ValueError("not a JSON array")
    return start + 1


def _skip_blanks(text: str, index: int) -> int:
    while index < len(text) and text[index] in BLANKS:
        index += 1
    return index


def _decoded_texts(text: str, start: int, decoded: Sequence[object]) -> list[str]:
    elements: list[str] = []
    index = _skip_blanks(text, start)
    if text.startswith("]", index):
        return elements
    while True:
        end = _compact_end(text, index, decoded[len(elements)]) if len(elements) < len(decoded) else None
        if end is None:
            _, end = _DECODER.raw_decode(text, index)
        elements.append(text[index:end])
        index = _skip_blanks(text, end)
        if text.startswith("]", index):
            return elements
        if not text.startswith(",", index):
            raise ValueError(f"expected , or ] at character {index}")
        index = _skip_blanks(text, index + 1)


def _compact_end(text: str, index: int, element: object) -> int | None:
    """Where `element` ends when its text at `index` is orjson's compact form of it; None otherwise."""
    try:
        candidate = orjson.dumps(element).decode()
    except (TypeError, orjson.JSONEncodeError):
        return None
    end = index + len(candidate)
    if text.startswith(candidate, index) and text.startswith((",", "]"), _skip_blanks(text, end)):
        return end
    return None


def scanned_texts(text: str, start: int) -> list[str]:
    """The same texts, by a flat scan that never recurses: only strings and structural characters are visited."""
    elements: list[str] = []
    depth = 1
    begin = start
    for token in _TOKEN.finditer(text, start):
        char = token.group()
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth == 0:
                last = text[begin : token.start()].strip(BLANKS)
                if last or elements:  # `[]` has no element
                    elements.append(last)
                return elements
        elif char == "," and depth == 1:
            elements.append(text[begin : token.start()].strip(BLANKS))
            begin = token.end()
    raise ValueError("the JSON array is not closed")
