"""The text of each element of a JSON array, as sent: every element parses back to what the array held."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.events.json_array import element_texts, scanned_texts

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20
)


@settings(max_examples=100, deadline=None)
@given(st.lists(values, max_size=6), st.sampled_from([None, 2]), st.sampled_from([", ", ",", " ,\n\t"]))
def test_every_element_parses_back(items: list[Any], indent: int | None, separator: str) -> None:
    text = json.dumps(items, indent=indent, separators=(separator, ": "), ensure_ascii=False)
    pieces = element_texts(text)
    assert [orjson.loads(piece) for piece in pieces] == orjson.loads(text)
    assert all(piece == piece.strip() for piece in pieces)
    assert scanned_texts(text, text.index("[") + 1) == pieces  # the flat scan cuts the same texts
    assert element_texts(text, orjson.loads(text)) == pieces  # and so does the compact comparison, or its fallback


small = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
orjson_values = st.recursive(
    small | st.text(), lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
)


@settings(max_examples=100, deadline=None)
@given(st.lists(orjson_values, max_size=6), st.sampled_from([",", " , ", ",\n"]))
def test_compact_elements_are_found_by_comparison_as_sent(items: list[Any], separator: str) -> None:
    text = "[" + separator.join(orjson.dumps(item).decode() for item in items) + "]"
    assert element_texts(text, orjson.loads(text)) == element_texts(text) == [orjson.dumps(i).decode() for i in items]


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("[]", []),
        (" [ ] ", []),
        ("\ufeff[1]", ["1"]),
        ('[12345678901234567890, "a,]\\"}", {"k": [1, 2]}]', ["12345678901234567890", '"a,]\\"}"', '{"k": [1, 2]}']),
    ],
)
def test_element_texts(text: str, pieces: list[str]) -> None:
    assert element_texts(text) == pieces
    assert scanned_texts(text, text.index("[") + 1) == pieces
    assert element_texts(text, json.loads(text.lstrip("\ufeff"))) == pieces


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("[1e5,100000.0]", ["1e5", "100000.0"]),  # the same value, only the second spelled as orjson spells it
        ('[12,123,"\\u00e9","é"]', ["12", "123", '"\\u00e9"', '"é"']),  # a prefix of a number; an escape
        ('[{"a":1} ,{"a":1}]', ['{"a":1}', '{"a":1}']),
    ],
)
def test_an_element_not_in_compact_form_is_scanned(text: str, pieces: list[str]) -> None:
    assert element_texts(text, json.loads(text)) == pieces == element_texts(text)


def test_an_element_nested_past_the_recursion_limit_is_cut_by_the_flat_scan() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert element_texts(f"[{deep}, 1]") == [deep, "1"]


@pytest.mark.parametrize("text", ['{"a": 1}', "[1, 2", "[1 2]"])
def test_not_an_array(text: str) -> None:
    with pytest.raises(ValueError):
        element_texts(text)
