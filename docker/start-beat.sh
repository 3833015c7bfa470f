#!/bin/sh
# beat: sends periodic tasks (the sweep that re-enqueues lost grading runs). Run exactly one.
set -eu
exec celery -A aaie beat --loglevel "${AAIE_LOG_LEVEL:-INFO}"
