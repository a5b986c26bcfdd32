"""Does a value conform to a facet_specs Spec? A yes-or-no answer, fast, for the common case of a valid event.

ingest.events.validation walks a value against its Spec and names every problem with its JSON path; building
paths and calling a checker per scalar is most of its cost, and almost every value it sees is fine.
`conforms(spec)` is the same rules compiled once per Spec into closures that answer only whether the walker
would find any problem: the validator asks it first and walks (for the paths and messages) only when the
answer is no. The two must agree exactly; tests/ingest/events/test_equivalence.py holds them to it.

The string rules (`string_problem`) live here, shared by both.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.events.facet_specs import Kind, Spec
from ingest.events.timestamps import parse_time
from schemas.rows import is_uuid

Predicate = Callable[[object], bool]

# A run id that is not a UUID is kept when it is a plain token that fits the column (the OpenLineage
# compatibility tests send "run_id"; Marquez accepts such ids too); anything else, a template placeholder
# such as "{{ any(result) }}" say, is refused.
RUN_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
URI_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")  # RFC 3986: a scheme, then no blanks


def string_problem(value: str, spec: Spec) -> str | None:
    """What is wrong with a string under a STRING spec, None when nothing is."""
    if spec.non_empty and (not value or value.isspace()):
        return "must not be blank" if value else "must not be empty"
    if spec.max_len is not None and len(value) > spec.max_len:
        return f"longer than {spec.max_len} characters"
    if spec.enum is not None and value not in spec.enum:
        return "must be one of " + ", ".join(sorted(spec.enum))
    fmt = spec.fmt
    if fmt is None:
        return None
    if fmt == "uuid":
        return None if is_uuid(value) else "not a UUID"
    if fmt == "run-id":
        return None if is_uuid(value) or RUN_TOKEN.fullmatch(value) else "not a UUID"
    if fmt == "uri":
        return None if URI_TEXT.fullmatch(value) else "not a URI"
    return None if _is_date_time(value) else "not a date-time"


def _is_date_time(value: str) -> bool:
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


_compiled: dict[int, Predicate] = {}  # by id(spec): Specs hold dicts (unhashable) and live as long as the module


def conforms(spec: Spec) -> Predicate:
    """The predicate of `spec`: true exactly when validation's walker finds no problem in the value."""
    found = _compiled.get(id(spec))
    if found is None:
        found = _COMPILERS[spec.kind](spec)  # an OBJECT registers itself first: specs may recurse
        _compiled[id(spec)] = found
    return found


def _is_plain_string(spec: Spec) -> bool:
    return spec == Spec(Kind.STRING)


def _object(spec: Spec) -> Predicate:
    # One read per property: (name, its predicate or None for a plain string, whether it is required).
    props: list[tuple[str, Predicate | None, bool]] = []
    unlisted = tuple(name for name in spec.required if name not in spec.props)  # required, any value

    def ok(value: object) -> bool:
        if not isinstance(value, dict):
            return False
        get = value.get
        for name in unlisted:
            if get(name) is None:
                return False
        for name, check, required in props:
            item = get(name)
            if item is None:
                if required:
                    return False
            elif check is None:
                if not isinstance(item, str):
                    return False
            elif not check(item):
                return False
        return True

    _compiled[id(spec)] = ok
    for name, sub in spec.props.items():
        props.append((name, None if _is_plain_string(sub) else conforms(sub), name in spec.required))
    return ok


def _array(spec: Spec) -> Predicate:
    items = spec.items
    if items is None or items.kind is Kind.ANY:
        return lambda value: isinstance(value, list)
    check = conforms(items)
    return lambda value: isinstance(value, list) and all(map(check, value))


def _map(spec: Spec) -> Predicate:
    keys, values = spec.keys, spec.values
    key_ok: Predicate = (lambda key: True) if keys is None else conforms(keys)
    value_ok: Predicate = (lambda item: True) if values is None or values.kind is Kind.ANY else conforms(values)

    def ok(value: object) -> bool:
        return isinstance(value, dict) and all(map(key_ok, value)) and all(map(value_ok, value.values()))

    return ok


def _string(spec: Spec) -> Predicate:
    if _is_plain_string(spec):
        return lambda value: isinstance(value, str)
    if spec.fmt is None and spec.enum is None:  # identities and field names: a length, perhaps not blank
        limit = spec.max_len if spec.max_len is not None else -1
        if spec.non_empty:
            return lambda value: (
                isinstance(value, str) and value != "" and not value.isspace() and (limit < 0 or len(value) <= limit)
            )
        return lambda value: isinstance(value, str) and (limit < 0 or len(value) <= limit)
    enum = spec.enum
    if enum is not None and spec.fmt is None and not spec.non_empty and spec.max_len is None:
        return lambda value: isinstance(value, str) and value in enum
    return lambda value: isinstance(value, str) and string_problem(value, spec) is None


def _integer(spec: Spec) -> Predicate:
    return lambda value: (
        not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))
    )


def _number(spec: Spec) -> Predicate:
    return lambda value: not isinstance(value, bool) and isinstance(value, int | float)


def _boolean(spec: Spec) -> Predicate:
    return lambda value: isinstance(value, bool)


def _any(spec: Spec) -> Predicate:
    return lambda value: True


_COMPILERS: dict[Kind, Callable[[Spec], Predicate]] = {
    Kind.OBJECT: _object,
    Kind.ARRAY: _array,
    Kind.MAP: _map,
    Kind.STRING: _string,
    Kind.INTEGER: _integer,
    Kind.NUMBER: _number,
    Kind.BOOLEAN: _boolean,
    Kind.ANY: _any,
}
