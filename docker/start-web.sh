#!/bin/sh
# web: gunicorn serving Django (static files through whitenoise). Migrations are applied by
# compose's one-shot "migrate" service before this starts.
set -eu
exec gunicorn aaie.wsgi:application \
  --bind "0.0.0.0:${AAIE_WEB_PORT:-8000}" \
  --workers "${AAIE_WEB_WORKERS:-3}" \
  --timeout "${AAIE_WEB_TIMEOUT:-60}" \
  --access-logfile - \
  --error-logfile -
