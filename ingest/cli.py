"""`lineage`: the command line. The only place that configures logging and prints."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack, closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from aiohttp import web

from ingest import __version__
from ingest.http import server
from ingest.http.app import create_app
from ingest.http.metrics import shared_across_workers
from ingest.logs import configure_logging
from ingest.populate.demo import populate_demo
from ingest.populate.files import ingest_paths
from ingest.populate.teradata import dbql_run
from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.commands import (
    NO_SQL_TEXT,
    CatalogReport,
    catalog_rows_from_csv,
    catalog_rows_live,
    check_rules,
    export_rows,
    file_time,
    live_rows,
    populate_catalog,
)
from ingest.populate.teradata.exports import ExportError
from ingest.populate.teradata.sinks import DrySink, Sink
from ingest.populate.teradata.source import SourceError, TeradataSource
from ingest.populate.teradata.sql_files import SqlReport, populate_sql
from ingest.settings import Settings, SettingsError
from ingest.writing.batches import BatchWriter, WriteReport
from ingest.writing.retention import cutoff, paced
from query.cache import LineageCache, SyncInvalidator
from schemas import open_store
from schemas.dsn import Dialect, Dsn
from schemas.sql import purge as purge_sql
from schemas.sql.ddl import render_schema
from schemas.store import SourceMark, Store, StoreError
from schemas.teradata.qvci import qvci_check
from schemas.times import format_store_time, parse_iso, utc_now

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

    populate = commands.add_parser("populate", help="fill the store with lineage from a source")
    sources = populate.add_subparsers(required=True, metavar="SOURCE")
    sources.add_parser("demo", help="a medallion graph in Teradata naming").set_defaults(run=_populate)
    _add_populate_sql(sources)
    _add_populate_catalog(sources)
    _add_populate_dbql(sources)

    purge = commands.add_parser("purge", help="remove runs and raw events older than DAYS days (retention)")
    purge.add_argument("--older-than", type=_days, required=True, metavar="DAYS", help="the age of what goes")
    purge.add_argument("--dry-run", action="store_true", help="count what would go; remove nothing")
    purge.add_argument("--edges", action="store_true", help="also remove lineage edges not seen for DAYS days")
    purge.set_defaults(run=_purge)

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
        return create_app(settings, _open(settings, create=False))

    try:
        if workers == 1:
            server.run(make_app, partial(server.bind, host, port, reuse_port=False))
            return 0
        # Every worker's counts on every scrape: the client's multiprocess mode, set up before the fork.
        with shared_across_workers() as child_exit:
            return server.run_workers(make_app, host, port, workers, child_exit=child_exit)
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
        report = ingest_paths(
            store,
            args.paths,
            strict=args.strict or settings.strict,
            progress=_progress_bar(),
            future_skew=settings.max_future_skew,
            after_commit=invalidate,
        )
    finally:
        invalidate.close()
        store.close()
    return _print_report(report)


def _populate(settings: Settings, args: argparse.Namespace) -> int:
    with closing(_open(settings)) as store, closing(SyncInvalidator(settings.cache)) as invalidate:
        store.upgrade_schema()
        report = populate_demo(store, strict=settings.strict, after_commit=invalidate)
    return _print_report(report, "demo: ")


def _add_populate_sql(sources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sql = sources.add_parser("sql", help="column lineage from Teradata SQL and BTEQ files (each file one session)")
    sql.add_argument("files", nargs="+", type=Path, metavar="FILE")
    sql.add_argument("--catalog", type=Path, metavar="CATALOG.csv", help="exported DBC catalog (tdsql format)")
    sql.add_argument("--default-database", metavar="DB", help="the session's default database at each file's start")
    sql.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="replace ${KEY} and $KEY")
    sql.add_argument("--namespace", metavar="teradata://host:port", help="the datasets' namespace")
    sql.add_argument("--dry-run", action="store_true", help="build and check the events, commit nothing")
    sql.add_argument("--output", type=Path, metavar="EVENTS.jsonl", help="also write every event, one JSON a line")
    sql.set_defaults(run=_populate_sql)


def _populate_sql(settings: Settings, args: argparse.Namespace) -> int:
    variables: dict[str, str] = {}
    for item in args.var:
        key, equals, value = item.partition("=")
        if not equals or not key:
            print(f"lineage: --var wants KEY=VALUE, not {item!r}", file=sys.stderr)
            return 2
        variables[key] = value
    try:
        catalog = Catalog.from_csv(args.catalog) if args.catalog else Catalog()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"lineage: cannot read the catalog {args.catalog}: {exc}", file=sys.stderr)
        return 2
    namespace = args.namespace or _teradata_namespace(settings)
    with ExitStack() as stack:
        output = stack.enter_context(args.output.open("wb")) if args.output else None
        writer = None
        if not args.dry_run:
            writer, _ = _writing(stack, settings)
        report = populate_sql(
            args.files,
            catalog=catalog,
            namespace=namespace,
            writer=writer,
            strict=settings.strict,
            default_database=args.default_database,
            variables=variables,
            output=output,
        )
    return _print_sql_report(report, dry_run=args.dry_run)


# --- populate catalog | dbql (ingest.populate.teradata.commands) --------------------------------------------


def _add_populate_catalog(sources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalog = sources.add_parser("catalog", help="tables and views from DBC (or an exported catalog) as datasets")
    catalog.add_argument("--database", action="append", default=[], metavar="DB", help="only this database (repeat)")
    catalog.add_argument("--from-csv", type=Path, metavar="CATALOG.csv", help="an exported catalog, offline")
    _add_common(catalog)
    catalog.set_defaults(run=_populate_catalog)


def _add_populate_dbql(sources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dbql = sources.add_parser("dbql", help="column lineage from the query log (DBQL), incrementally")
    since = dbql.add_mutually_exclusive_group()
    since.add_argument("--since", type=_store_time_arg, metavar="TS", help="read from TS instead of the watermark")
    since.add_argument("--full", action="store_true", help="read everything the log holds")
    dbql.add_argument("--until", type=_store_time_arg, metavar="TS", help="read up to TS instead of now - lag")
    lag = "stay this far behind now (DBQL flushes its caches every 10 minutes); default 10m"
    dbql.add_argument("--lag", type=_duration_arg, default="10m", metavar="DURATION", help=lag)
    dbql.add_argument("--pdcr", action="store_true", help="read PDCR's history tables instead of DBC's views")
    dbql.add_argument("--database", action="append", default=[], metavar="DB", help="only lineage touching DB")
    dbql.add_argument("--from-export", type=Path, metavar="ROWS.csv|.jsonl", help="an exported DBQL, offline")
    dbql.add_argument("--catalog", type=Path, metavar="CATALOG.csv", help="exported catalog names resolve against")
    dbql.add_argument("--reset-watermark", action="store_true", help="forget the watermark and pending queries first")
    _add_common(dbql)
    dbql.set_defaults(run=_populate_dbql)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", metavar="teradata://host:port", help="the datasets' namespace")
    parser.add_argument("--dry-run", action="store_true", help="read and build everything, commit nothing")
    parser.add_argument("--output", type=Path, metavar="EVENTS.jsonl", help="also write every event, one JSON a line")


def _store_time_arg(text: str) -> str:
    try:
        return format_store_time(parse_iso(text)[0])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2024-06-01T00:00:00Z") from None


def _duration_arg(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 10m, 2h or 1d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "seconds"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def _source_namespace(settings: Settings, args: argparse.Namespace) -> str:
    if args.namespace:
        return str(args.namespace)
    store = settings.store
    if store.teradata_host:
        return f"teradata://{store.teradata_host}:{store.teradata_port}"
    return _teradata_namespace(settings)


def _source(settings: Settings) -> TeradataSource | None:
    """The Teradata system to read (the TERADATA_* settings), or None with a message when none is set."""
    store = settings.store
    if not store.teradata_host:
        print("lineage: reading DBC needs TERADATA_HOST (or an export: --from-csv, --from-export)", file=sys.stderr)
        return None
    dsn = Dsn(Dialect.TERADATA, host=store.teradata_host, port=store.teradata_port, user=store.teradata_user,
              password=store.teradata_password or "", database=store.teradata_database)  # fmt: skip
    return TeradataSource(dsn)


def _writing(stack: ExitStack, settings: Settings) -> tuple[BatchWriter, Store]:
    """A population's writer on the upgraded store; each commit invalidates the query cache (a server on the same
    store answers the new lineage at once)."""
    store = stack.enter_context(closing(_open(settings)))
    store.upgrade_schema()
    invalidate = stack.enter_context(closing(SyncInvalidator(settings.cache)))
    return BatchWriter(store, strict=settings.strict, after_commit=invalidate), store


def _dry_mark(settings: Settings, source: str) -> SourceMark:
    """A dry run's view of the watermark: read when the store is there and current; nothing is created."""
    if settings.store.dsn.dialect is Dialect.SQLITE and not Path(settings.store.dsn.path).exists():
        return SourceMark(None, ())
    with closing(_open(settings)) as store:
        return store.source_mark(source) if store.schema_status().current else SourceMark(None, ())


def _populate_catalog(settings: Settings, args: argparse.Namespace) -> int:
    namespace = _source_namespace(settings, args)
    report = CatalogReport()
    with ExitStack() as stack:
        if args.from_csv is not None:
            rows = catalog_rows_from_csv(args.from_csv)
            default_time = file_time(args.from_csv)
        else:
            source = _source(settings)
            if source is None:
                return 2
            stack.callback(source.close)
            rows = catalog_rows_live(source, args.database, report)
            default_time = utc_now().replace(" ", "T", 1) + "Z"
        sink: Sink = DrySink(strict=settings.strict) if args.dry_run else _writing(stack, settings)[0]
        output = stack.enter_context(args.output.open("wb")) if args.output else None
        try:
            report, counts = populate_catalog(rows, sink, namespace=namespace, default_time=default_time,
                                              databases=args.database, output=output, report=report)  # fmt: skip
        except (ExportError, SourceError) as exc:
            print(f"lineage: {exc}", file=sys.stderr)
            return 2
        write = sink.finish()
    print(f"catalog: tables {report.tables}, views {report.views} ({report.view_events} view lineage events), "
          f"system database rows skipped {report.skipped_system}")  # fmt: skip
    if report.columns_view:
        print(f"catalog: columns from {report.columns_view}; views typed by HELP COLUMN {report.typed_by_help}")
    for line in counts.lines():
        print(f"views: {line}")
    return _print_population_report(write, sink, "catalog: ")


def _populate_dbql(settings: Settings, args: argparse.Namespace) -> int:
    namespace = _source_namespace(settings, args)
    try:
        catalog = Catalog.from_csv(args.catalog) if args.catalog else Catalog()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"lineage: cannot read the catalog {args.catalog}: {exc}", file=sys.stderr)
        return 2
    source_name = dbql_run.source_name(namespace)
    with ExitStack() as stack:
        store: Store | None = None
        if args.dry_run:
            sink: Sink = DrySink(strict=settings.strict)
            mark = SourceMark(None, ()) if args.reset_watermark else _dry_mark(settings, source_name)
        else:
            sink, store = _writing(stack, settings)
            if args.reset_watermark:
                store.reset_mark(source_name)
                print(f"dbql: watermark and pending queries of {source_name} forgotten")
            mark = store.source_mark(source_name)
        text_rows = None
        source = None
        if args.from_export is not None:
            rows = export_rows(args.from_export)
            now = None
        else:
            source = _source(settings)
            if source is None:
                return 2
            stack.callback(source.close)
            rows, text_rows = live_rows(source, pdcr=args.pdcr)
            now = datetime.now(UTC)
        win = dbql_run.window(mark, since=args.since, full=args.full, until=args.until, now=now, lag=args.lag)
        output = stack.enter_context(args.output.open("wb")) if args.output else None
        try:
            report, extractor = dbql_run.run_dbql(
                store, mark, sink, catalog, namespace=namespace, rows=rows, win=win, text_rows=text_rows,
                databases=args.database, output=output,
            )  # fmt: skip
        except (ExportError, SourceError) as exc:
            print(f"lineage: {exc}", file=sys.stderr)
            return 2
        write = sink.finish()
        hint = check_rules(source) if source is not None and report.log_rows == 0 else None
    print(f"dbql: window [{win.low or 'the beginning'}, {win.high or 'the end of the export'}) of CollectTimeStamp")
    print(f"dbql: queries {report.log_rows}: read {report.queries}, text not come yet {report.pending_new} new and "
          f"{report.pending_kept} still pending, finished from earlier runs {report.finished}, given up "
          f"{len(report.given_up)}")  # fmt: skip
    for query_id in report.given_up:
        print(f"query {query_id}: given up: its SQL text rows never came")
    for failure in extractor.failures:
        print(f"{failure.run_key}:{failure.line}: statement {failure.index + 1} {failure.reason}: {failure.detail}")
    for line in extractor.counts.lines():
        print(f"dbql: {line}")
    if report.skipped_databases:
        print(f"dbql: events left out by --database {report.skipped_databases}")
    if hint is not None:
        print(f"dbql: {hint}")
    if report.pending_new and not report.queries and not report.finished:  # text for none: no WITH SQL
        print("dbql: " + NO_SQL_TEXT.format(count=report.pending_new))
    state = "unchanged (dry run)" if args.dry_run else "now"
    print(f"dbql: watermark of {source_name} {state}: {report.mark or 'none'}")
    return _print_population_report(write, sink, "dbql: ")


def _print_population_report(write: WriteReport, sink: Sink, prefix: str) -> int:
    if isinstance(sink, DrySink):
        for origin, reason in write.rejected:
            print(f"{origin}: rejected: {reason}")
        print(f"{prefix}dry run: {sink.prepared} events would be written, rejected {len(write.rejected)}; "
              "nothing committed")  # fmt: skip
        return 1 if write.rejected else 0
    return _print_report(write, prefix)


def _teradata_namespace(settings: Settings) -> str:
    dsn = settings.store.dsn
    if dsn.dialect is Dialect.TERADATA:
        return f"teradata://{dsn.host}:{dsn.port}"
    return "teradata://localhost:1025"


def _print_sql_report(report: SqlReport, *, dry_run: bool) -> int:
    """Failed statements (where to find them), the extractor's counts, then what the store made of the events."""
    for path, reason in report.unreadable:
        print(f"{path}: cannot read: {reason}")
    for failure in report.failures:
        print(f"{failure.run_key}:{failure.line}: statement {failure.index + 1} {failure.reason}: {failure.detail}")
    for line in report.counts.lines():
        print(line)
    if dry_run:
        write = report.write
        for origin, reason in write.rejected:
            print(f"{origin}: rejected: {reason}")
        print(
            f"dry run: nothing committed; {report.counts.events - len(write.rejected)} events valid, "
            f"{len(write.rejected)} rejected"
        )
        return 1 if write.rejected or report.unreadable else 0
    code = _print_report(report.write, "sql: ")
    return max(code, 1) if report.unreadable else code


def _qvci_check(settings: Settings, args: argparse.Namespace) -> int:
    if settings.store.dsn.dialect is not Dialect.TERADATA:
        print("lineage: qvci-check needs a Teradata store (TERADATA_HOST or a teradata:// LINEAGE_STORE)")
        return 2
    code, message = qvci_check(settings.store.dsn)
    print(message)
    return code


def _days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a number of days, 1 or more")
    return days


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    """Purge in bounded batches (a running server goes on acknowledging events), then invalidate the cache."""
    before = cutoff(args.older_than)
    removed: Counter[str] = Counter()
    with closing(_open(settings)) as store:
        steps = store.purge(before, edges=args.edges, dry_run=args.dry_run)
        for step in steps if args.dry_run else paced(steps):  # a dry run only reads: no writer to give way to
            removed.update(step)
    verb = "would remove" if args.dry_run else "removed"
    print(f"cut-off {before} UTC ({args.older_than} days ago)")
    for label in purge_sql.LABELS:
        if args.edges or "edges" not in label:
            print(f"{verb} {removed[label]} {label}")
    if removed.total() and not args.dry_run:
        asyncio.run(_forget_cached(settings))
    return 0


async def _forget_cached(settings: Settings) -> None:
    cache = LineageCache(settings.cache)
    try:
        await cache.forget_all()
    finally:
        await cache.close()


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


def _open(settings: Settings, *, create: bool = True) -> Store:
    store = settings.store
    return open_store(
        store.dsn, create=create, memory_keys=store.write_memory_keys, refresh=store.sighting_refresh_seconds
    )
