"""Cutting SQL or BTEQ text into statements. Pure.

A scanner, not a parser: it knows string literals, quoted names and both comment forms, so a `;` or a
line starting with `.` inside them is text, not structure. Whitespace and comments are kept inside each
statement (collapsing whitespace would let a `--` comment swallow the rest of a statement); the parser
skips them. BTEQ dot-commands (`.RUN`, `.IF ERRORCODE <> 0 THEN .QUIT 8;`, `.LOGOFF`, ...) are lines that
start with `.` and a letter: they end the statement before them and are dropped, whatever follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Piece:
    """One statement of a text: its SQL (comments kept, no trailing `;`) and the line it starts on."""

    text: str
    line: int  # 1-based, in the whole text
    index: int  # 0-based position among the text's statements

    @property
    def words(self) -> list[str]:
        """The first few words of the statement in upper case, comments skipped: what the statement is."""
        return leading_words(self.text)


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace `${KEY}` and `$KEY` for the given keys only (scripts run through a shell or a scheduler
    carry such placeholders); any other `$` stays as written."""
    if not variables:
        return text
    names = "|".join(re.escape(key) for key in sorted(variables, key=len, reverse=True))
    pattern = re.compile(rf"\$\{{({names})\}}|\$({names})\b")
    return pattern.sub(lambda match: variables[match.group(1) or match.group(2)], text)


def split_statements(text: str) -> list[Piece]:
    """Every statement of `text` in order; empty statements (only comments or blanks) are left out."""
    pieces: list[Piece] = []
    for start, end in _spans(text):
        body = text[start:end]
        if strip_comments(body).strip():
            line = text.count("\n", 0, start) + 1 + _leading_lines(body)
            pieces.append(Piece(body.strip(), line, len(pieces)))
    return pieces


def _leading_lines(body: str) -> int:
    stripped = body.lstrip()
    return body.count("\n", 0, len(body) - len(stripped))


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each statement; dot-command lines are skipped."""
    i, n = 0, len(text)
    start = 0
    line_start = True  # only blanks since the last newline
    while i < n:
        ch = text[i]
        if line_start and ch == "." and i + 1 < n and text[i + 1].isalpha():
            yield start, i
            i = _line_end(text, i)
            start = i
            continue
        if ch == "\n":
            line_start = True
            i += 1
            continue
        if not ch.isspace():
            line_start = False
        if ch == ";":
            yield start, i
            start = i + 1
            i += 1
        elif ch in "'\"":
            i = _quote_end(text, i, ch)
        elif text.startswith("--", i):
            i = _line_end(text, i)
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
        else:
            i += 1
    yield start, n


def _line_end(text: str, i: int) -> int:
    newline = text.find("\n", i)
    return len(text) if newline < 0 else newline


def _quote_end(text: str, i: int, quote: str) -> int:
    """The index after the quoted text opened at i; a doubled quote is an escaped one."""
    j = i + 1
    n = len(text)
    while j < n:
        if text[j] == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def strip_comments(text: str) -> str:
    """The text with `--` and `/* */` comments replaced by a blank (literals and quoted names kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            j = _quote_end(text, i, ch)
            out.append(text[i:j])
            i = j
        elif text.startswith("--", i):
            i = _line_end(text, i)
            out.append(" ")
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$#]*|\S")


def leading_words(text: str, count: int = 6) -> list[str]:
    """The first `count` words (or single punctuation marks) of `text`, upper case, comments skipped."""
    found: list[str] = []
    for match in _WORD.finditer(strip_comments(text[:2000])):
        found.append(match.group(0).upper())
        if len(found) == count:
            break
    return found
