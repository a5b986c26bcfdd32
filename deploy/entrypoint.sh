#!/bin/sh
# The image's entry point: `serve` (the default) brings the schema up to date, then becomes the server, so that
# SIGTERM reaches it and its 30 s drain runs. Anything else is a `lineage` command: `purge --older-than 90`.
set -eu
if [ "${1:-serve}" = serve ]; then
    lineage schema upgrade
    exec lineage "$@"
fi
exec lineage "$@"
