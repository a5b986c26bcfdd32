"""The statements that keep a population source's progress (OL_POPULATE_MARK, OL_POPULATE_PENDING), dialect-neutral.

Written as schemas.sql.reads' are: `:name` parameters, unqualified OL_* names; each backend rewrites them (PostgreSQL
`%(name)s`, Teradata `?` with the tables qualified and the time parameters cast). A mark moves in three statements
inside one transaction (read, then UPDATE or INSERT), so that it needs no dialect's upsert.
"""

from __future__ import annotations

MARK = "SELECT mark_time FROM OL_POPULATE_MARK WHERE source_id = :source_id"
PENDING = "SELECT item_id, item_time, payload FROM OL_POPULATE_PENDING WHERE source_id = :source_id"

INSERT_MARK = (
    "INSERT INTO OL_POPULATE_MARK (source_id, source, mark_time, updated_at) "
    "VALUES (:source_id, :source, :mark_time, :updated_at)"
)
UPDATE_MARK = (
    "UPDATE OL_POPULATE_MARK SET mark_time = :mark_time, updated_at = :updated_at WHERE source_id = :source_id"
)
INSERT_PENDING = (
    "INSERT INTO OL_POPULATE_PENDING (source_id, item_id, item_time, payload, first_seen_at) "
    "VALUES (:source_id, :item_id, :item_time, :payload, :first_seen_at)"
)
PENDING_IDS = "SELECT item_id FROM OL_POPULATE_PENDING WHERE source_id = :source_id"
# A pending item is removed once the items it stood for are committed: it is the source's bookkeeping, not lineage.
DELETE_PENDING = "DELETE FROM OL_POPULATE_PENDING WHERE source_id = :source_id AND item_id = :item_id"
# --reset-watermark only.
RESET_MARK = "DELETE FROM OL_POPULATE_MARK WHERE source_id = :source_id"
RESET_PENDING = "DELETE FROM OL_POPULATE_PENDING WHERE source_id = :source_id"

TIME_PARAMS = frozenset({"mark_time", "updated_at", "item_time", "first_seen_at"})  # bound to TIMESTAMP(6) columns
