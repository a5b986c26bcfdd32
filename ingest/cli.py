"""`lineage`: the command line. The only place that configures logging and prints."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import closing
from dataclasses import replace
from functools import partial
from pathlib import Path

from aiohttp import web

from ingest import __version__
from ingest.http import server
from ingest.http.app import create_app
from ingest.logs import configure_logging
from ingest.populate.demo import populate_demo
from ingest.populate.files import ingest_paths
from ingest.settings import Settings, SettingsError
from ingest.writing.batches import WriteReport
from query.cache import SyncInvalidator
from schemas import open_store
from schemas.dsn import Dialect
from schemas.sql.ddl import render_schema
from schemas.store import Store, StoreError
from schemas.teradata.qvci import qvci_check

logger = logging.getLogger("lineage")


# A reader that left early (`lineage schema ddl | head`): exit as a Unix tool killed by SIGPIPE would.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"lineage: bad setting: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.http.log_format)
    try:
        code: int = args.run(settings, args)
        sys.stdout.flush()  # here, so that a closed pipe is met inside the try
    except StoreError as exc:
        print(f"lineage: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Python would flush stdout again at exit and report the same error: point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineage", description="OpenLineage ingestion server for Teradata shops.")
    parser.add_argument("--version", action="version", version=f"lineage {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="bind address (default: LINEAGE_HOST)")
    serve.add_argument("--port", type=int, help="port (default: API_PORT)")
    serve.add_argument("--workers", type=int, help="processes sharing the port (default: LINEAGE_WORKERS)")
    serve.set_defaults(run=_serve)

    config = commands.add_parser("config", help="print the effective settings and where each came from")
    config.set_defaults(run=_config)

    ingest = commands.add_parser("ingest", help="load OpenLineage events from .json, .jsonl or .ndjson files")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--strict", action="store_true", help="reject standard facets that break their schema")
    ingest.set_defaults(run=_ingest)

    populate = commands.add_parser("populate", help="fill the store with generated lineage")
    populate.add_argument("source", choices=["demo"], help="demo: a medallion graph in Teradata naming")
    populate.set_defaults(run=_populate)

    qvci = commands.add_parser("qvci-check", help="is Teradata's QVCI enabled? exit 0 yes, 1 no, 2 cannot tell")
    qvci.set_defaults(run=_qvci_check)

    schema = commands.add_parser("schema", help="create, upgrade or inspect the OL_* tables")
    actions = schema.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("create", help="create the tables in an empty database").set_defaults(run=_schema_create)
    actions.add_parser("upgrade", help="add what is missing; never drops").set_defaults(run=_schema_upgrade)
    actions.add_parser("status", help="applied and pending migrations").set_defaults(run=_schema_status)
    ddl = actions.add_parser("ddl", help="print the DDL for a dialect")
    ddl.add_argument("--dialect", choices=[d.value for d in Dialect], default=Dialect.SQLITE.value)
    ddl.set_defaults(run=_schema_ddl)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    # The server never creates a SQLite file: a store deleted under it must not come back empty on a restart.
    with closing(open_store(settings.store.dsn, create=False)) as store:
        status = store.schema_status()
        if not status.current:
            lacking = f" (missing: {', '.join(status.missing)})" if status.missing else ""
            print(f"lineage: the schema is not current{lacking}; run `lineage schema upgrade` first", file=sys.stderr)
            return 2
    # The command line wins over the environment; the app sees the values it really serves with.
    http = settings.http
    http = replace(
        http, host=args.host or http.host, api_port=args.port or http.api_port, workers=args.workers or http.workers
    )
    settings = replace(settings, http=http)
    host, port, workers = http.host, http.api_port, http.workers

    def make_app() -> web.Application:
        return create_app(settings, open_store(settings.store.dsn, create=False))

    try:
        if workers == 1:
            server.run(make_app, partial(server.bind, host, port, reuse_port=False))
            return 0
        return server.run_workers(make_app, host, port, workers)
    except server.StartupError as exc:
        print(f"lineage: {exc}", file=sys.stderr)
        return 2


def _config(settings: Settings, args: argparse.Namespace) -> int:
    rows = settings.effective()
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        print(f"{name:<{width}}  {value or '(unset)'}  [{source}]")
    return 0


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    store = _open(settings)
    invalidate = SyncInvalidator(settings.cache)  # a server on the same store sees the new lineage at once
    try:
        store.upgrade_schema()
        strict = args.strict or settings.strict
        report = ingest_paths(store, args.paths, strict=strict, progress=_progress_bar(), after_commit=invalidate)
    finally:
        invalidate.close()
        store.close()
    return _print_report(report)


def _populate(settings: Settings, args: argparse.Namespace) -> int:
    with closing(_open(settings)) as store, closing(SyncInvalidator(settings.cache)) as invalidate:
        store.upgrade_schema()
        report = populate_demo(store, strict=settings.strict, after_commit=invalidate)
    return _print_report(report, "demo: ")


def _qvci_check(settings: Settings, args: argparse.Namespace) -> int:
    if settings.store.dsn.dialect is not Dialect.TERADATA:
        print("lineage: qvci-check needs a Teradata store (TERADATA_HOST or a teradata:// LINEAGE_STORE)")
        return 2
    code, message = qvci_check(settings.store.dsn)
    print(message)
    return code


def _progress_bar() -> None | _Bar:
    return _Bar() if sys.stderr.isatty() else None


class _Bar:
    """A one-line progress bar on stderr, drawn only on a terminal."""

    def __call__(self, done: int, total: int) -> None:
        filled = 30 * done // max(total, 1)
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} files{end}")
        sys.stderr.flush()


def _print_report(report: WriteReport, prefix: str = "") -> int:
    """Print what became of each event, then the counts; the exit status: 0 all stored, 1 some rejected or
    failed, 2 the store failed midway (what was committed stays; a rerun reports it as duplicate)."""
    for origin, warning in report.warnings:
        print(f"{origin}: warning: {warning}")
    for origin, reason in report.rejected:
        print(f"{origin}: rejected: {reason}")
    for origin, reason in report.failed:
        print(f"{origin}: failed: {reason}")
    print(
        f"{prefix}committed {report.committed}, duplicate {report.duplicate}, "
        f"rejected {len(report.rejected)}, failed {len(report.failed)}"
    )
    if report.stopped is not None:
        print(f"lineage: stopped early, {report.stopped}; run it again to write the rest", file=sys.stderr)
        return 2
    return 1 if report.rejected or report.failed else 0


def _schema_create(settings: Settings, args: argparse.Namespace) -> int:
    return _run_schema(settings, "create")


def _schema_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    return _run_schema(settings, "upgrade")


def _run_schema(settings: Settings, action: str) -> int:
    store = _open(settings)
    try:
        executed = store.create_schema() if action == "create" else store.upgrade_schema()
        status = store.schema_status()
    finally:
        store.close()
    latest = status.applied[-1] if status.applied else None
    what = f"{len(executed)} statements run" if executed else "nothing to do"
    version = f"version {latest.version} ({latest.name})" if latest else "no version"
    print(f"{settings.store.dsn.masked()}: {what}; schema at {version}")
    return 0


def _schema_status(settings: Settings, args: argparse.Namespace) -> int:
    store = _open(settings)
    try:
        status = store.schema_status()
    finally:
        store.close()
    for migration in status.applied:
        print(f"applied  {migration.version}  {migration.name}  {migration.description}")
    for migration in status.pending:
        print(f"pending  {migration.version}  {migration.name}  {migration.description}")
    for missing in status.missing:
        print(f"missing  {missing}  (recorded as applied, yet absent: run `lineage schema upgrade`)")
    return 0 if status.current else 1


def _schema_ddl(settings: Settings, args: argparse.Namespace) -> int:
    for statement in render_schema(Dialect(args.dialect)):
        print(f"{statement};\n")
    return 0


def _open(settings: Settings) -> Store:
    return open_store(settings.store.dsn)
