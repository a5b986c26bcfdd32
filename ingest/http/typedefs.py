"""Typed keys for state shared through the application and the request."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ingest.http.body import BodyLimits
from ingest.http.event_limits import EventLimits
from ingest.http.large import WorkerPool
from ingest.http.metrics import ServerMetrics
from ingest.settings import Settings
from ingest.writing.batcher import Batcher
from schemas.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey[Store]("store")  # a Protocol: named by subscription, not as a class
BATCHER = web.AppKey("batcher", Batcher)
BODY_LIMITS = web.AppKey("body_limits", BodyLimits)
METRICS = web.AppKey("metrics", ServerMetrics)
EVENT_LIMITS = web.AppKey("event_limits", EventLimits)
LARGE_POOL = web.AppKey("large_event_pool", WorkerPool)  # absent: large events go to threads


@dataclass(slots=True)
class SchemaWatch:
    """Until when (event-loop time) /ready takes the schema as current without reading the catalog again."""

    current_until: float = 0.0


SCHEMA_WATCH = web.AppKey("schema_watch", SchemaWatch)
