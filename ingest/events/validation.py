"""Is a decoded JSON value an OpenLineage event the server can store? (spec 2-0-2 and real clients)

`validate_event` answers with the event's kind, errors (the event is refused) and warnings (it is stored,
and the warnings say what is off). Errors are what would break the rows or the spec's identities: the
envelope, run / job / dataset identities, and the facets ingest.events.mapping turns into rows (parent, schema,
symlinks, columnLineage). The spec's other facets are checked against their schemas
(ingest.events.facet_specs) and break them with warnings only, errors when `strict`. Custom facets are kept
verbatim and never walked into, so a 20 KB Spark logical plan costs nothing here. Pure and allocation-light:
the value is read, never copied or changed. Each checked part is first put to its spec's compiled predicate
(ingest.events.conformance); only a part that fails it is walked, to name its problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from ingest.events.conformance import RUN_TOKEN, URI_TEXT, Predicate, conforms, string_problem
from ingest.events.facet_specs import IDENT, NAME_LIMIT, ROW_FACETS, RUN_ID, STANDARD_FACETS, Kind, Place, Spec, o
from ingest.events.timestamps import parse_time
from schemas.rows import EventKind, RunState, is_uuid
from schemas.times import parse_store_time

FACET_NAME_LIMIT = 512
SHOWN_KEY = 64  # characters of a key a problem's path shows
EVENT_TYPES = frozenset({*RunState, "OTHER"})  # RunEvent.eventType in spec 2-0-2

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KINDS = {kind.value: kind for kind in EventKind}
_RUN = o(("runId",), runId=RUN_ID)
_NAMED = o(("namespace", "name"), namespace=IDENT, name=IDENT)  # a job or a dataset
_NAMED_OK = conforms(_NAMED)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. `path` is a JSON path into the event ("" for the whole event)."""

    path: str  # "run.runId", "inputs[0].facets.schema.fields[2].name", 'run.facets["spark.logicalPlan"]'
    message: str  # "not a UUID", "required", ...

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class FutureBound:
    """The latest eventTime accepted: the time of arrival plus the allowed skew of the producer's clock."""

    moment: datetime
    skew: int  # seconds, as LINEAGE_MAX_FUTURE_SKEW says

    @classmethod
    def after(cls, received_at: str, skew: int) -> FutureBound | None:
        """`skew` seconds past `received_at` (store text); None when that lies past the year 9999."""
        try:
            return cls(parse_store_time(received_at) + timedelta(seconds=skew), skew)
        except OverflowError:
            return None


@dataclass(frozen=True, slots=True)
class Validation:
    """The verdict on one event. Any error refuses it; warnings are stored with it."""

    kind: EventKind | None  # None when the value is not recognisably any event
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def event_kind(value: Mapping[str, object]) -> EventKind | None:
    """The event's type: the schemaURL fragment's last segment (`#/$defs/RunEvent`, `#/definitions/JobEvent`)
    when it names one, else the shape: `run` -> RunEvent, `dataset` -> DatasetEvent, `job` -> JobEvent.

    eventType plays no part: old JobEvents carry one too.
    """
    url = value.get("schemaURL")
    if isinstance(url, str):
        fragment = url.partition("#")[2]
        kind = _KINDS.get(fragment.rstrip("/").rpartition("/")[2])
        if kind is not None:
            return kind
    if "run" in value:
        return EventKind.RUN
    if "dataset" in value:
        return EventKind.DATASET
    if "job" in value:
        return EventKind.JOB
    return None


def validate_event(value: object, *, strict: bool = False, latest: FutureBound | None = None) -> Validation:
    """Validate one decoded JSON value. `strict` turns standard facets' schema breaks into errors; `latest`
    refuses an eventTime past it (the server's clock plus LINEAGE_MAX_FUTURE_SKEW)."""
    if not isinstance(value, dict):
        return Validation(None, (Problem("", "an event must be a JSON object"),), ())
    report = _Report(strict)
    kind = event_kind(value)
    _check_envelope(value, kind, report, latest)
    if kind is None:
        report.error("", "not an OpenLineage event: it has no run, job or dataset")
    else:
        _BODIES[kind](value, report)
    return Validation(kind, tuple(report.errors), tuple(report.warnings))


class _Report:
    __slots__ = ("errors", "strict", "warnings")

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(Problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Problem(path, message))


# --- paths --------------------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    part = _key_part(key)
    if not path:
        return part[1:] if part.startswith(".") else part
    return path + part


@lru_cache(maxsize=4096)
def _key_part(key: str) -> str:
    """`.key`, or `["key"]` when the key is not a plain identifier (dots, blanks, quotes)."""
    if _PLAIN_KEY.fullmatch(key):
        return "." + key
    return '["' + key.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def _shown(key: str) -> str:
    """A key as a path shows it: a long one cut, so that an error about its length stays short."""
    return key if len(key) <= SHOWN_KEY else key[:SHOWN_KEY] + "..."


def _placeholder(text: str, message: str) -> str:
    if "{{" in text or "${" in text:
        return f"{message} (looks like a template placeholder)"
    return message


# --- envelope -----------------------------------------------------------------------------------------------


def _check_envelope(
    event: dict[str, object], kind: EventKind | None, report: _Report, latest: FutureBound | None
) -> None:
    _check_event_time(event, report, latest)
    _check_producer(event, report)
    url = event.get("schemaURL")
    if url is None:
        report.warn("schemaURL", "missing (the spec requires it): the event type was decided by its shape")
    elif not isinstance(url, str):
        report.error("schemaURL", "expected a string")
    elif not URI_TEXT.fullmatch(url):
        report.warn("schemaURL", "not a URI")
    if kind is EventKind.RUN:
        _check_event_type(event, report)
    elif event.get("eventType") is not None and kind is not None:
        report.warn("eventType", f"not part of a {kind.value}: ignored")


def _check_event_time(event: dict[str, object], report: _Report, latest: FutureBound | None) -> None:
    text = event.get("eventTime")
    if text is None:
        report.error("eventTime", "required")
        return
    if not isinstance(text, str):
        report.error("eventTime", "expected a string")
        return
    try:
        moment, has_offset = parse_time(text)
    except ValueError:
        report.error("eventTime", _placeholder(text, "not an RFC 3339 date-time"))
        return
    if latest is not None and moment > latest.moment:
        report.error("eventTime", f"more than {latest.skew} s ahead of the server's clock (LINEAGE_MAX_FUTURE_SKEW)")
    if not has_offset:
        report.warn("eventTime", "no UTC offset (the spec requires one): read as UTC")


def _check_producer(event: dict[str, object], report: _Report) -> None:
    producer = event.get("producer")
    if producer is None:
        report.error("producer", "required")
    elif not isinstance(producer, str):
        report.error("producer", "expected a string")
    elif not producer:
        report.error("producer", "must not be empty")
    elif not URI_TEXT.fullmatch(producer):
        report.warn("producer", "not a URI (the spec asks for one)")


def _check_event_type(event: dict[str, object], report: _Report) -> None:
    event_type = event.get("eventType")
    if event_type is None:
        report.warn("eventType", "absent (allowed by spec 2-0-2): read as OTHER, the run state is left alone")
    elif not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        report.error("eventType", "must be one of " + ", ".join(sorted(EVENT_TYPES)))


# --- bodies -------------------------------------------------------------------------------------------------


def _check_run_event(event: dict[str, object], report: _Report) -> None:
    run = _check_entity(event, "run", _RUN, report)
    if run is not None:
        _check_run_token(run.get("runId"), report)
        _check_facets(run.get("facets"), Place.RUN, "run.facets", report)
    _check_job(event, report)
    _check_datasets(event, "inputs", report)
    _check_datasets(event, "outputs", report)


def _check_run_token(run_id: object, report: _Report) -> None:
    """A plain-token run id passed the format check; say that it is not the UUID the spec asks for."""
    if isinstance(run_id, str) and not is_uuid(run_id) and RUN_TOKEN.fullmatch(run_id):
        note = report.error if report.strict else report.warn
        note("run.runId", "not a UUID (the spec asks for one): kept as given")


def _check_job_event(event: dict[str, object], report: _Report) -> None:
    _check_job(event, report)
    _check_datasets(event, "inputs", report)
    _check_datasets(event, "outputs", report)


def _check_dataset_event(event: dict[str, object], report: _Report) -> None:
    dataset = _check_entity(event, "dataset", _NAMED, report)
    if dataset is not None:
        _check_facets(dataset.get("facets"), Place.DATASET, "dataset.facets", report)


_BODIES: dict[EventKind, Callable[[dict[str, object], _Report], None]] = {
    EventKind.RUN: _check_run_event,
    EventKind.JOB: _check_job_event,
    EventKind.DATASET: _check_dataset_event,
}


def _check_job(event: dict[str, object], report: _Report) -> None:
    job = _check_entity(event, "job", _NAMED, report)
    if job is not None:
        _check_facets(job.get("facets"), Place.JOB, "job.facets", report)


def _check_entity(parent: dict[str, object], key: str, spec: Spec, report: _Report) -> dict[str, object] | None:
    """Check parent[key] against spec (errors); the entity when it is an object, for its facets."""
    entity = parent.get(key)
    if entity is None:
        report.error(key, "required")
        return None
    if not conforms(spec)(entity):
        _check(entity, spec, key, report.errors)
    return entity if isinstance(entity, dict) else None


def _check_datasets(event: dict[str, object], key: str, report: _Report) -> None:
    datasets = event.get(key)
    if datasets is None:
        return
    if not isinstance(datasets, list):
        report.error(key, "expected an array of datasets")
        return
    own_place, own_key = (Place.INPUT, "inputFacets") if key == "inputs" else (Place.OUTPUT, "outputFacets")
    for index, dataset in enumerate(datasets):
        path = f"{key}[{index}]"
        if not isinstance(dataset, dict):
            report.error(path, "expected an object")
            continue
        if not _NAMED_OK(dataset):
            _check_object(dataset, _NAMED, path, report.errors)
        _check_facets(dataset.get("facets"), Place.DATASET, f"{path}.facets", report)
        _check_facets(dataset.get(own_key), own_place, f"{path}.{own_key}", report)


# --- facets -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FacetCheck:
    """How one known facet is checked where it sits: its spec, the spec's predicate, and whether a break is an
    error (a row facet) or a warning (a standard facet, unless strict)."""

    spec: Spec
    ok: Predicate
    row: bool


def _facet_checks(place: Place) -> dict[str, _FacetCheck]:
    checks = {name: _FacetCheck(spec, conforms(spec), False) for name, spec in STANDARD_FACETS[place].items()}
    checks.update({name: _FacetCheck(spec, conforms(spec), True) for name, spec in ROW_FACETS.get(place, {}).items()})
    return checks


_FACET_CHECKS = {place: _facet_checks(place) for place in Place}


def _check_facets(container: object, place: Place, path: str, report: _Report) -> None:
    """A facet container: an object of objects. Row facets and standard facets are checked; others are not."""
    if container is None:
        return
    if not isinstance(container, dict):
        report.error(path, "expected an object of facets")
        return
    checks = _FACET_CHECKS[place]
    for name, facet in container.items():
        if len(name) > FACET_NAME_LIMIT:
            report.error(_join(path, _shown(name)), f"facet name longer than {FACET_NAME_LIMIT} characters")
            continue
        if not isinstance(facet, dict):
            report.error(_join(path, name), "a facet must be an object")
            continue
        if facet.get("_deleted") is True:
            continue  # a tombstone: valid for any facet, whatever its schema
        check = checks.get(name)
        if check is None:
            continue  # a custom facet: kept verbatim, never walked into
        if check.row:
            if not check.ok(facet):
                _check_object(facet, check.spec, _join(path, name), report.errors)
            if name == "schema" and not _paths_fit(facet.get("fields"), 0):
                _check_field_paths(facet.get("fields"), f"{_join(path, name)}.fields", 0, report.errors)
        elif not check.ok(facet):
            _check_object(facet, check.spec, _join(path, name), report.errors if report.strict else report.warnings)


def _paths_fit(items: object, prefix: int) -> bool:
    """Whether _check_field_paths finds nothing: every nested field's dotted path fits NAME_LIMIT."""
    if not isinstance(items, list):
        return True
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        length = prefix + len(name)
        if length > NAME_LIMIT:
            if prefix and len(name) <= NAME_LIMIT:
                return False
            continue
        if not _paths_fit(item.get("fields"), length + 1):
            return False
    return True


def _check_field_paths(items: object, path: str, prefix: int, out: list[Problem]) -> None:
    """Nested schema fields are stored under their dotted paths (`a.b.c`), which must fit NAME_LIMIT as each
    name must; `prefix` is the length of the parent's path and its dot."""
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        length = prefix + len(name)
        if length > NAME_LIMIT:
            if prefix and len(name) <= NAME_LIMIT:  # a name too long alone is its own spec's problem
                out.append(
                    Problem(f"{path}[{index}].name", f"the field's dotted path is longer than {NAME_LIMIT} characters")
                )
            continue
        _check_field_paths(item.get("fields"), f"{path}[{index}].fields", length + 1, out)


# --- a small JSON schema walker (the subset facet_specs uses) -----------------------------------------------


def _check(value: object, spec: Spec, path: str, out: list[Problem]) -> None:
    _CHECKERS[spec.kind](value, spec, path, out)


def _check_object(value: object, spec: Spec, path: str, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append(Problem(path, "expected an object"))
        return
    for name in spec.required:
        if value.get(name) is None:
            out.append(Problem(_join(path, name), "required"))
    for name, sub in spec.props.items():
        item = value.get(name)
        if item is None:
            continue  # an optional property sent as null is read as absent
        if sub.kind in _SCALARS:  # the common case: the path is only built for a problem
            message = _scalar_problem(item, sub)
            if message is not None:
                out.append(Problem(_join(path, name), message))
        else:
            _check(item, sub, _join(path, name), out)


def _check_array(value: object, spec: Spec, path: str, out: list[Problem]) -> None:
    if not isinstance(value, list):
        out.append(Problem(path, "expected an array"))
        return
    items = spec.items
    if items is None or items.kind is Kind.ANY:
        return
    for index, item in enumerate(value):
        _check(item, items, f"{path}[{index}]", out)


def _check_map(value: object, spec: Spec, path: str, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append(Problem(path, "expected an object"))
        return
    keys = spec.keys
    if keys is not None:
        for key in value:
            message = string_problem(key, keys)
            if message is not None:
                out.append(Problem(_join(path, _shown(key)), f"key {message}"))
    values = spec.values
    if values is None or values.kind is Kind.ANY:
        return
    for key, item in value.items():
        _check(item, values, _join(path, key), out)


def _check_scalar(value: object, spec: Spec, path: str, out: list[Problem]) -> None:
    message = _scalar_problem(value, spec)
    if message is not None:
        out.append(Problem(path, message))


def _scalar_problem(value: object, spec: Spec) -> str | None:
    kind = spec.kind
    if kind is Kind.STRING:
        if not isinstance(value, str):
            return "expected a string"
        message = string_problem(value, spec)
        return None if message is None else _placeholder(value, message)
    if isinstance(value, bool):  # JSON true/false decode to bool, a subclass of int
        return None if kind is Kind.BOOLEAN else f"expected {_EXPECTED[kind]}"
    if kind is Kind.INTEGER and (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
        return None
    if kind is Kind.NUMBER and isinstance(value, int | float):
        return None
    return f"expected {_EXPECTED[kind]}"


def _check_any(value: object, spec: Spec, path: str, out: list[Problem]) -> None:
    return None


_SCALARS = frozenset({Kind.STRING, Kind.INTEGER, Kind.NUMBER, Kind.BOOLEAN})
_EXPECTED = {
    Kind.STRING: "a string",
    Kind.INTEGER: "an integer",
    Kind.NUMBER: "a number",
    Kind.BOOLEAN: "true or false",
}


_CHECKERS: dict[Kind, Callable[[object, Spec, str, list[Problem]], None]] = {
    Kind.OBJECT: _check_object,
    Kind.ARRAY: _check_array,
    Kind.MAP: _check_map,
    Kind.STRING: _check_scalar,
    Kind.INTEGER: _check_scalar,
    Kind.NUMBER: _check_scalar,
    Kind.BOOLEAN: _check_scalar,
    Kind.ANY: _check_any,
}
