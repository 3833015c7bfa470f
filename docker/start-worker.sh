#!/bin/sh
# worker: Celery on the queues named in AAIE_WORKER_QUEUES. A grading worker ("grading") loads
# the model once per process, so keep AAIE_WORKER_CONCURRENCY at what the GPU or RAM holds.
# Light tasks ("default": text extraction, notifications, the sweep) get their own worker so
# they never wait behind the model.
set -eu
exec celery -A aaie worker \
  --queues "${AAIE_WORKER_QUEUES:-grading}" \
  --concurrency "${AAIE_WORKER_CONCURRENCY:-1}" \
  --hostname "${AAIE_WORKER_NAME:-worker}@%h" \
  --loglevel "${AAIE_LOG_LEVEL:-INFO}" \
  --without-gossip --without-mingle
