"""The Celery app: configured from Django settings (CELERY_* names), tasks found in the apps.

Every process that runs tasks (a prefork child, or a solo worker) also runs a heartbeat thread
(grading/worker.py): it tells admins which workers are up and keeps the run it grades alive in
the sweep's eyes.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aaie.settings")

app = Celery("aaie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect
def _start_heartbeat(sender: str | None = None, **kwargs) -> None:
    from grading import worker  # Django is set up only once the worker runs

    worker.heartbeat_start(nodename=sender or "celery")


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _stop_heartbeat(**kwargs) -> None:
    from grading import worker

    worker.heartbeat_stop()
