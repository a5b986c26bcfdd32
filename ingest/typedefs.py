"""Typed keys for state shared through the application and the request."""

from __future__ import annotations

from aiohttp import web

from ingest.settings import Settings
from schemas.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey[Store]("store")  # a Protocol: named by subscription, not as a class
REQUEST_ID = web.RequestKey("request_id", str)
