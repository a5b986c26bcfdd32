"""What this process last wrote to each row, so that a batch leaves out the rows the store holds already.

Most rows an event writes are rows the store has: the namespace, the job, its datasets and fields, their facets,
the column edges seen a minute ago. The merge rules (schemas.sql.rules) are a join: applying a row again, or an
older sighting of content already applied, changes nothing, and the order rows are applied in does not matter
(apart from ties of time, which have no order to follow). So for every row of a remembered table (a `Write` with
`sighting`) the writer asks this memory, by key:
- never written by this process, or its content (every column but the key, the sighting times and their
  followers) differs from what this process last wrote: WRITE it now. A NULL where a value was written is no
  difference: no rule lets NULL erase a value (a parent job named without its type, a dataset read without its
  schema say nothing new);
- the same content, sighted earlier than anything written (a first sighting to move back): WRITE it now;
- the same content, sighted no later than the newest sighting written or held: SKIP it, it changes nothing;
- the same content, sighted later (a newer updated_at, last_seen_at, an edge's run): HOLD it. The newest held
  sighting of each key is written by the store's `flush_sightings` within `refresh` seconds (after a batch once
  the last flush is that old, and by the server every `refresh` seconds when no batch comes), or just before the
  key's next written row, or by the flush after the key left the memory. In the batch that writes a key, its
  later sightings are carried by that row instead (one row a key a batch: an edge's last sighting is updated
  once per batch however many events of it saw the edge). Applying a held sighting later is a reordering, which
  the rules allow: the rows end as if it had been written at once.

Why this never leaves a row missing or stale:
- restart: the memory starts empty, so the first sighting of every key is written;
- another process writing the same store: what it writes meets what this one wrote or holds as the rules say,
  in any order; a held sighting is applied within `refresh` seconds, so a newer sighting never loses to another
  process's older one for longer than that;
- a purge: every purge step that removes rows moves the store's purge mark in its own transaction, and each batch
  reads the mark inside its write transaction (PostgreSQL under a shared advisory lock the purge takes
  exclusively): when it moved, the memory is forgotten before anything is skipped, so no row is left out that a
  purge removed. Held sightings are kept through that and written.
- a crash (kill -9) loses only held sightings: the sighting times of the last `refresh` seconds on rows whose
  content was written, never an event (OL_EVENT holds each at once) nor a content change. Such a row is right
  again at its next sighting.

Content is kept as the values written (names, types, short descriptions), or as Python's hash of them (salted per
process) for a payload (facets, dataset versions) and for values longer than KEPT_CHARACTERS, so that a key
costs a few hundred bytes at most. Bounded: past `limit` keys the least recently written go,
their held sightings written by the next flush.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

from schemas.sql.params import Params
from schemas.sql.rules import Policy, Write

DEFAULT_LIMIT = 100_000
DEFAULT_REFRESH_SECONDS = 5.0
Key = tuple[str, Any]  # (table name, the key's value or values)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one remembered table's rows are read: which columns are content, which date the sighting."""

    key: Callable[[Params], Any]  # the row's key value (several: a tuple)
    content: Callable[[Params], Any]  # the row's content value (several: a tuple)
    digest: bool  # content kept as a hash (a payload: large, and NULL is a value there), else as the values
    time: str | None  # the column every sighting time of the row equals (None: the key is everything)
    earliest: bool  # an older sighting moves a first-seen time back: it must be written
    latest: bool  # a newer sighting moves a last-seen time on: it is held, then written
    follow: str | None  # the column that goes with the latest sighting (an edge's or a version's run)
    firsts: tuple[str, ...]  # the EARLIEST time columns, which a held row carries as first written
    lasts: tuple[str, ...]  # the other time columns, which a later sighting moves on
    fills: bool  # the follower is NEWER: an older sighting still fills it while it is NULL

    @classmethod
    def of(cls, write: Write) -> _Plan:
        sighting = write.sighting
        if sighting is None:
            raise ValueError(f"{write.table.name} is not remembered")
        if len(sighting.follows) > 1:
            raise ValueError(f"{write.table.name}: one column at most follows the latest sighting")
        follow = sighting.follows[0] if sighting.follows else None
        skipped = {*write.key, *sighting.times, *sighting.follows}
        content = [c for c in write.columns if c not in skipped]
        policies = {write.rules[c].policy for c in sighting.times}
        return cls(
            key=_values(write.key),
            content=_values(content),
            digest="payload" in content,
            time=sighting.times[0] if sighting.times else None,
            earliest=Policy.EARLIEST in policies,
            latest=bool(policies & {Policy.LATEST, Policy.NEWER_ROW}),
            follow=follow,
            fills=follow is not None and write.rules[follow].policy is Policy.NEWER,
            firsts=tuple(c for c in sighting.times if write.rules[c].policy is Policy.EARLIEST),
            lasts=tuple(c for c in sighting.times if write.rules[c].policy is not Policy.EARLIEST),
        )

    def late(self, held: Params, first: Any) -> Params:
        """A held row as written late: with the first sighting this process knows, so that a row a purge elsewhere
        removed meanwhile comes back with it."""
        return {**held, **dict.fromkeys(self.firsts, first)} if self.firsts else held


@dataclass(slots=True)
class _Entry:
    content: Any  # the content last written: its values, or their hash (_Plan.digest)
    first: Any  # the earliest sighting time written
    last: Any  # the latest sighting time written or held
    followed: bool  # the follower was written or held with a value: the rows hold one, which NULL never erases
    held: Params | None = None  # the newest sighting not written yet


class Held(NamedTuple):
    """A held sighting: its key, the row as held, and the row to write (with the first sighting known)."""

    key: Key
    row: Params
    written: Params


@dataclass(slots=True)
class Batch:
    """One batch's decisions are made in the memory as they come; `undo` keeps what they replaced, so that a batch
    that is not committed leaves the memory as it found it (`WriteMemory.abort`)."""

    undo: dict[Key, _Entry | None] = field(default_factory=dict)  # each key's entry before the batch (None: none)
    sent: int = 0  # rows sent (the store counts them)
    skipped: int = 0  # rows left out (held ones included)


class _Pass:
    """One table's rows of one batch, decided one by one (WriteMemory.rows)."""

    def __init__(self, plan: _Plan, entries: dict[Key, _Entry], undo: dict[Key, _Entry | None]) -> None:
        self.plan, self.entries, self.undo = plan, entries, undo
        self.sent: list[Params] = []
        self.written: dict[Key, int] = {}  # where in `sent` each key's row is, to take the batch's later sightings
        self.skipped = self.held = 0

    def again(self, key: Key, entry: _Entry, row: Params) -> None:
        """A row whose content is the one written: sent, held, merged into the batch's row, or left out."""
        plan = self.plan
        if plan.time is None:  # the key is the row: stored already
            self.skipped += 1
            return
        moment, follow = row[plan.time], plan.follow
        follows = follow is not None and row[follow] is not None
        followed = entry.followed or follows
        if plan.earliest and moment < entry.first:  # seen earlier than written: now
            self._send(key, row)
            self._put(key, entry, _Entry(entry.content, moment, entry.last, followed, entry.held))
            return
        later = plan.latest and entry.last < moment
        if plan.fills and follows and not entry.followed and not later:
            self._send(key, row)  # an older sighting fills the follower the rows lack
            self._put(key, entry, _Entry(entry.content, entry.first, entry.last, True, entry.held))
            return
        self.skipped += 1
        if not later:
            return  # nothing the store lacks
        at = self.written.get(key)
        if at is not None:
            # Seen later in the batch that writes the key: the row written carries this sighting, with its own
            # content, which this row's NULLs must not blank.
            self.sent[at] = {**self.sent[at], **{c: row[c] for c in plan.lasts}}
            if follow is not None and follows:
                self.sent[at][follow] = row[follow]
            self._put(key, entry, _Entry(entry.content, entry.first, moment, followed, entry.held))
            return
        held = row  # held, the newest only
        if follow is not None and not follows and entry.held is not None:
            held = {**row, follow: entry.held[follow]}  # no follower: the one before it stays
        self._put(key, entry, _Entry(entry.content, entry.first, moment, followed, held))
        self.held += 1

    def changed(self, key: Key, entry: _Entry | None, content: Any, row: Params) -> None:
        """A row of a key not written before, or with other content: sent, after the key's held sighting."""
        plan, follow = self.plan, self.plan.follow
        moment = row[plan.time] if plan.time is not None else None
        follows = follow is not None and row[follow] is not None
        if entry is None:
            self._send(key, row)
            self._put(key, None, _Entry(content, moment, moment, follows))
            return
        if entry.held is not None:
            self.sent.append(plan.late(entry.held, entry.first))  # first, so that the two meet in time order
        self._send(key, row)
        if moment is not None and moment < entry.last:
            # Other content, older than what was written: the row now holds a mix this process cannot know
            # without reading it. Forgotten, so the key's next row is written.
            self.undo.setdefault(key, entry)
            del self.entries[key]
            return
        held_follows = follow is not None and entry.held is not None and entry.held[follow] is not None
        followed = entry.followed or follows or held_follows
        self._put(key, entry, _Entry(content, min(entry.first, moment), moment, followed))

    def _send(self, key: Key, row: Params) -> None:
        self.written[key] = len(self.sent)
        self.sent.append(row)

    def _put(self, key: Key, old: _Entry | None, new: _Entry) -> None:
        """`new` for `key`, as the most recently written; what it replaces kept for an undo (the first time only)."""
        self.undo.setdefault(key, old)
        if old is not None:
            del self.entries[key]
        self.entries[key] = new


class WriteMemory:
    """The per-process memory of a store's writes (see the module docstring). Thread-safe."""

    def __init__(
        self,
        writes: Sequence[Write],
        *,
        limit: int = DEFAULT_LIMIT,
        refresh: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.refresh = refresh
        self._clock = clock
        self._plans = {w.table.name: _Plan.of(w) for w in writes if w.sighting is not None and limit > 0}
        self._entries: dict[Key, _Entry] = {}  # least recently written first
        self._orphans: list[tuple[Key, Params]] = []  # held sightings of keys that left the memory, all written
        self._held = 0  # sightings held since the last flush (an upper bound: some were written since)
        self._flushed_at = clock()
        self._mark: object = None
        self._open: Batch | None = None  # the batch begun and neither committed nor aborted
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, mark: object) -> Batch:
        """A batch that read the store's purge mark `mark` in its transaction: a moved mark forgets every key (their
        held sightings are kept, to be written). A batch still open (a transaction tried again) is undone first."""
        with self._lock:
            self._undo()
            if mark != self._mark:
                self._forget_all()
                self._mark = mark
            self._open = Batch()
            return self._open

    def rows(self, batch: Batch, write: Write, rows: Iterable[Params]) -> list[Params]:
        """The rows of `write` the batch must send, in order: each one written, preceded by its key's held sighting
        when there is one; skipped and held rows left out; a key's later sightings in the batch carried by the
        row written for it (one row a key a batch)."""
        plan = self._plans.get(write.table.name)
        if plan is None:
            return list(rows)
        step = _Pass(plan, self._entries, batch.undo)
        name, key_of, content_of, digest, entries = write.table.name, plan.key, plan.content, plan.digest, self._entries
        with self._lock:
            for row in rows:
                key = (name, key_of(row))
                entry = entries.get(key)
                values = content_of(row)
                if entry is not None and _same(entry.content, values, digest):
                    step.again(key, entry, row)
                else:
                    step.changed(key, entry, hash(values) if digest else _kept(values), row)
            self._held += step.held
        batch.skipped += step.skipped
        return step.sent

    def commit(self) -> None:
        """The open batch is committed: its decisions stand. Past `limit` keys the least recently written go, a
        tenth of the limit at a time: finding the oldest key walks the slots of the keys removed before it, so
        one key at a time would walk them again for every key."""
        with self._lock:
            self._open = None
            entries = self._entries
            if len(entries) <= self.limit:
                return
            oldest = list(islice(entries, len(entries) - self.limit + self.limit // 10))
            for key in oldest:
                entry = entries.pop(key)
                if entry.held is not None:
                    self._orphans.append((key, self._plans[key[0]].late(entry.held, entry.first)))

    def abort(self) -> None:
        """The open batch was not committed: the memory is as before it."""
        with self._lock:
            self._undo()

    def _undo(self) -> None:
        if self._open is None:
            return
        for key, entry in self._open.undo.items():
            if entry is None:
                self._entries.pop(key, None)
            else:
                self._entries[key] = entry
        self._open = None

    def flush_due(self) -> bool:
        """Sightings are held and the last flush is `refresh` seconds old."""
        return bool(self._held or self._orphans) and self._clock() - self._flushed_at >= self.refresh

    def held(self) -> dict[str, list[Held]]:
        """Every held sighting, by table (those of keys that left the memory too)."""
        found: dict[str, list[Held]] = {}
        with self._lock:
            for key, row in self._orphans:
                found.setdefault(key[0], []).append(Held(key, row, row))
            for key, entry in self._entries.items():
                if entry.held is not None:
                    late = self._plans[key[0]].late(entry.held, entry.first)
                    found.setdefault(key[0], []).append(Held(key, entry.held, late))
        return found

    def flushed(self, written: dict[str, list[Held]]) -> None:
        """Those held sightings are committed: no longer held (unless a newer one came meanwhile). Not called when
        the flush failed: they stay held, and the next flush, due at once, tries again."""
        with self._lock:
            self._held, self._flushed_at = 0, self._clock()
            done = {id(held.row) for found in written.values() for held in found}
            self._orphans = [orphan for orphan in self._orphans if id(orphan[1]) not in done]
            for found in written.values():
                for held in found:
                    entry = self._entries.get(held.key)
                    if entry is not None and entry.held is held.row:
                        entry.held = None

    def forget(self) -> None:
        """Forget every key (this process purged): held sightings are kept, to be written."""
        with self._lock:
            self._forget_all()

    def _forget_all(self) -> None:
        for key, entry in self._entries.items():
            if entry.held is not None:
                self._orphans.append((key, self._plans[key[0]].late(entry.held, entry.first)))
        self._entries.clear()


def _values(columns: Sequence[str]) -> Callable[[Params], Any]:
    """A row's values of `columns`, in C (itemgetter): the value of one column, a tuple of several, () of none."""
    if not columns:
        return lambda row: ()
    return itemgetter(*columns)


class _Digest(int):
    """Content kept as its hash because its values are long (a description of a few thousand characters, say):
    a key costs the memory a few hundred bytes at most. Equal content is still recognised; NULLs where values were
    written then count as a change (written, which is never wrong)."""


KEPT_CHARACTERS = 256  # content with more characters of text than this is kept as a _Digest


def _kept(values: Any) -> Any:
    """What an entry keeps of content values: the values, or their _Digest when long."""
    texts = values if isinstance(values, tuple) else (values,)
    if sum(len(v) for v in texts if type(v) is str) > KEPT_CHARACTERS:
        return _Digest(hash(values))
    return values


def _same(known: Any, values: Any, digest: bool) -> bool:
    """The content `values` is what was written (`known`): equal, or, kept as values, equal but for NULLs."""
    if digest or type(known) is _Digest:
        return bool(known == hash(values))
    return bool(known == values) or _within(values, known)


def _within(values: Any, known: Any) -> bool:
    """Every value is the known one or NULL, which no rule lets erase a value (NEWER_ROW's payload aside, kept
    as a digest): the row says nothing the known content does not."""
    if not isinstance(values, tuple):
        return values is None
    return all(v is None or v == k for v, k in zip(values, known, strict=True))
