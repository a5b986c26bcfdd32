"""The text of each element of a JSON array, as sent: a batch's events are archived verbatim, as single events are.

Re-serialising a decoded element would not be the event as sent: an integer past 64 bits decodes to a float
(orjson), so `12345678901234567890` would be archived as `1.2345678901234567e19`, and key order, spacing and
escapes would change. Only strings and the structural characters are visited (the regular expression skips
everything else in C), so the cost grows with the number of strings and brackets, not of bytes.
"""

from __future__ import annotations

import re

# A JSON string (escapes included), or one of the characters that open, close or separate values.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)
_OPEN = frozenset("[{")
_CLOSE = frozenset("]}")


def element_texts(text: str) -> list[str]:
    """The text of every top-level element of `text`, a JSON array that a JSON parser has accepted.

    Blanks around an element are not part of it. ValueError when `text` is not an array.
    """
    start = text.find("[")
    if start < 0 or text[:start].strip("\ufeff \t\r\n"):
        raise ValueError("not a JSON array")
    elements: list[str] = []
    depth = 0
    begin = start + 1
    for token in _TOKEN.finditer(text, start):
        char = token.group()
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth == 0:
                _add(elements, text[begin : token.start()])
                return elements
        elif char == "," and depth == 1:
            _add(elements, text[begin : token.start()])
            begin = token.end()
    raise ValueError("the JSON array is not closed")


def _add(elements: list[str], piece: str) -> None:
    element = piece.strip(" \t\r\n")
    if element or elements:  # `[]` has no element; `[1,]` is not JSON and never reaches here
        elements.append(element)
