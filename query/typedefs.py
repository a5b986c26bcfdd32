"""Typed keys for what the query layer keeps in the application."""

from __future__ import annotations

from aiohttp import web

from query.cache import LineageCache
from query.config import QueryConfig
from schemas.store import Store

QUERY_STORE = web.AppKey[Store]("query_store")  # a Protocol: named by subscription, not as a class
QUERY_CONFIG = web.AppKey("query_config", QueryConfig)
QUERY_CACHE = web.AppKey("query_cache", LineageCache)
