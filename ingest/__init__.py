"""lineage-server's receiver: settings, validation, mapping, ingestion from HTTP and files, the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lineage-server")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
