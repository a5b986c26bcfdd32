"""Rewriting the Teradata forms sqlglot's Teradata dialect cannot read into forms it can. Pure.

Found by trying (sqlglot 30): `x (INTEGER)`, `x (DATE, FORMAT 'YYYY-MM-DD')`, `x (CHAR(10))` and
`x (NOT CASESPECIFIC)` fail or parse as a function call; `(NAMED y)`, `(TITLE 'y')` and `(FORMAT 'y')` are
attributes of a value, not values; `USING (...)` request modifiers and `LOCKING ... FOR ACCESS` are not
statements; `UPDATE ... ELSE INSERT ...` is two statements in one. The rewrite works on sqlglot's own
tokens, so literals and comments are never touched, and keeps the lineage meaning:

- a conversion `x (TYPE[, FORMAT ...])` or `x (FORMAT '...')` becomes `x::VARCHAR` (a CAST: the value is
  transformed; which type it becomes does not matter to lineage);
- `(NAMED y)` becomes `AS y`; `(TITLE ...)`, `(CASESPECIFIC)`, `(NOT CASESPECIFIC)`, `(UPPERCASE)` go;
- `USING (...)` at the start and every `LOCKING ... FOR ACCESS` (also in a view's body) go;
- `CT` is `CREATE TABLE`; `CREATE/REPLACE RECURSIVE VIEW` is read as a view; `SELECT NORMALIZE [ON ...]`
  loses the NORMALIZE (it merges periods, the columns stay the same);
- a window's `RESET WHEN cond` becomes one more ORDER BY key, `CASE WHEN cond THEN 1 END`, so the
  condition's columns are the window's inputs as they are in Teradata.
"""

from __future__ import annotations

from sqlglot.dialects.teradata import Teradata
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

_DIALECT = Teradata()

# The first word of a parenthesised attribute list after a value: Teradata's data type and attribute words.
TYPE_WORDS = frozenset(
    {
        "BYTEINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "DECIMAL", "DEC", "NUMERIC", "NUMBER", "FLOAT",
        "REAL", "DOUBLE", "CHAR", "CHARACTER", "VARCHAR", "LONG", "CLOB", "DATE", "TIME", "TIMESTAMP",
        "INTERVAL", "BYTE", "VARBYTE", "BLOB", "PERIOD", "GRAPHIC", "VARGRAPHIC", "JSON", "XML",
    }
)  # fmt: skip
ATTRIBUTE_WORDS = frozenset({"FORMAT", "TITLE", "NAMED", "CASESPECIFIC", "CS", "NOT", "UPPERCASE", "UC"})
_VALUE_END = frozenset({TokenType.VAR, TokenType.IDENTIFIER, TokenType.R_PAREN, TokenType.STRING, TokenType.NUMBER})
_LOCK_MODES = frozenset({"ACCESS", "READ", "WRITE", "EXCLUSIVE", "SHARE", "CHECKSUM", "LOAD"})


def tokens_of(text: str) -> list[Token] | None:
    """sqlglot's Teradata tokens of `text`, or None when it cannot even be tokenized."""
    try:
        return _DIALECT.tokenize(text)
    except TokenError:
        return None


def rewrite(text: str) -> str:
    """The statement in a form sqlglot reads, with the same lineage (see the module docstring)."""
    tokens = tokens_of(text)
    if not tokens:
        return text
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement)
    _using_modifier(tokens, edits)
    _leading(tokens, edits)
    _locking(tokens, edits)
    _attributes(tokens, edits)
    _normalize(tokens, edits)
    _reset_when(tokens, edits)
    if not edits:
        return text
    out: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits):
        if start < position:  # nested inside an edit already made
            continue
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)


def split_else_insert(text: str) -> list[str]:
    """`UPDATE ... ELSE INSERT ...` (Teradata's atomic upsert) as its two statements; other text unchanged."""
    tokens = tokens_of(text)
    if not tokens or tokens[0].text.upper() not in ("UPDATE", "UPD"):
        return [text]
    depth = 0
    for i, token in enumerate(tokens[:-1]):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.token_type == TokenType.ELSE and tokens[i + 1].text.upper() in ("INSERT", "INS"):
            return [text[: token.start], text[tokens[i + 1].start :]]
    return [text]


def _closing(tokens: list[Token], open_index: int) -> int | None:
    depth = 0
    for j in range(open_index, len(tokens)):
        kind = tokens[j].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    return None


def _using_modifier(tokens: list[Token], edits: list[tuple[int, int, str]]) -> None:
    if len(tokens) > 1 and tokens[0].text.upper() == "USING" and tokens[1].token_type == TokenType.L_PAREN:
        close = _closing(tokens, 1)
        if close is not None:
            edits.append((tokens[0].start, tokens[close].end + 1, ""))


def _leading(tokens: list[Token], edits: list[tuple[int, int, str]]) -> None:
    first = tokens[0]
    if first.text.upper() == "CT" and first.token_type != TokenType.IDENTIFIER:
        edits.append((first.start, first.end + 1, "CREATE TABLE"))
    elif (
        len(tokens) > 2
        and first.text.upper() in ("CREATE", "REPLACE")
        and tokens[1].text.upper() == "RECURSIVE"
        and tokens[2].text.upper() == "VIEW"
    ):
        edits.append((tokens[1].start, tokens[1].end + 1, ""))


def _normalize(tokens: list[Token], edits: list[tuple[int, int, str]]) -> None:
    """`SELECT NORMALIZE [ON MEETS OR OVERLAPS | ON OVERLAPS OR MEETS | ON MEETS | ON OVERLAPS]`."""
    for i in range(1, len(tokens)):
        if tokens[i].text.upper() != "NORMALIZE" or tokens[i - 1].text.upper() not in ("SELECT", "SEL"):
            continue
        j = i
        if j + 1 < len(tokens) and tokens[j + 1].text.upper() == "ON":
            j += 1
            while j + 1 < len(tokens) and tokens[j + 1].text.upper() in ("MEETS", "OR", "OVERLAPS"):
                j += 1
        edits.append((tokens[i].start, tokens[j].end + 1, " "))


def _reset_when(tokens: list[Token], edits: list[tuple[int, int, str]]) -> None:
    for i in range(len(tokens) - 1):
        if tokens[i].text.upper() != "RESET" or tokens[i + 1].token_type != TokenType.WHEN:
            continue
        depth = 0
        end = None
        for j in range(i + 2, len(tokens)):
            kind = tokens[j].token_type
            if kind == TokenType.L_PAREN:
                depth += 1
            elif kind == TokenType.R_PAREN:
                if depth == 0:
                    end = j
                    break
                depth -= 1
            elif depth == 0 and tokens[j].text.upper() in ("ROWS", "RANGE"):
                end = j
                break
        if end is None:
            continue
        edits.append((tokens[i].start, tokens[i + 1].end + 1, ", CASE WHEN"))
        edits.append((tokens[end].start, tokens[end].start, " THEN 1 END "))


def _locking(tokens: list[Token], edits: list[tuple[int, int, str]]) -> None:
    """Every `LOCKING|LOCK [ROW|TABLE x|DATABASE x|VIEW x] [FOR|IN] ACCESS|READ|... [MODE] [NOWAIT]`."""
    i = 0
    while i < len(tokens):
        if tokens[i].token_type != TokenType.IDENTIFIER and tokens[i].text.upper() in ("LOCKING", "LOCK"):
            j = i + 1
            while j < len(tokens) and j < i + 8 and tokens[j].text.upper() not in _LOCK_MODES:
                j += 1
            if j < len(tokens) and tokens[j].text.upper() in _LOCK_MODES:
                while j + 1 < len(tokens) and tokens[j + 1].text.upper() in ("MODE", "NOWAIT"):
                    j += 1
                edits.append((tokens[i].start, tokens[j].end + 1, " "))
                i = j
        i += 1


def _attributes(tokens: list[Token], edits: list[tuple[int, int, str]]) -> None:
    for i in range(1, len(tokens) - 1):
        if tokens[i].token_type != TokenType.L_PAREN or tokens[i - 1].token_type not in _VALUE_END:
            continue
        first = tokens[i + 1]
        word = first.text.upper()
        if first.token_type == TokenType.IDENTIFIER or word not in TYPE_WORDS | ATTRIBUTE_WORDS:
            continue
        if word in TYPE_WORDS and i + 2 < len(tokens) and tokens[i + 2].token_type == TokenType.STRING:
            continue  # a typed literal such as DATE '2024-01-01' passed to a function
        close = _closing(tokens, i)
        if close is None:
            continue
        edits.append((tokens[i].start, tokens[close].end + 1, _replacement(tokens[i + 1 : close])))


def _replacement(inner: list[Token]) -> str:
    """What an attribute list `( ... )` after a value becomes: `::VARCHAR` for a conversion, ` AS name`."""
    converts = False
    alias = ""
    depth = 0
    expect_word = True
    for k, token in enumerate(inner):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.COMMA and depth == 0:
            expect_word = True
            continue
        if depth == 0 and expect_word:
            word = token.text.upper()
            if word in TYPE_WORDS or word == "FORMAT":
                converts = True
            elif word == "NAMED" and k + 1 < len(inner):
                name = inner[k + 1]
                alias = f' AS "{name.text}"' if name.token_type == TokenType.IDENTIFIER else f" AS {name.text}"
        expect_word = False
    return ("::VARCHAR" if converts else " ") + alias
