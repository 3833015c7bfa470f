"""Inside a Celery worker process, besides the tasks: the heartbeat.

A daemon thread in each process that runs tasks reports every GRADING_HEARTBEAT_SECONDS: a
WorkerHeartbeat row (which process, which models it holds, which run it grades) and the
heartbeat_at of that run, so the sweep can tell a slow run from one whose worker died. The
thread dies with its process, which is the point: a killed worker stops vouching for its run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

from billiard.process import current_process
from django import db
from django.conf import settings

from grading.llm import backends

logger = logging.getLogger(__name__)

# Shown per loaded model; the rest of a ModelSpec (server URL, key variable) stays out of the admin.
MODEL_FIELDS = ("backend", "model", "device", "dtype")

# The runs this process grades now: its task's run first, then the runs batched with it.
_current_run_ids: list[int] = []
_heartbeat: _Heartbeat | None = None


@contextmanager
def grading(run_id: int) -> Iterator[None]:
    """Mark `run_id` as this process's current run while the block runs."""
    global _current_run_ids
    _current_run_ids = [run_id]
    try:
        yield
    finally:
        _current_run_ids = []


def grading_also(run_ids: list[int]) -> None:
    """The current task grades these runs too (a model batch): vouch for them as well."""
    global _current_run_ids
    _current_run_ids = [*_current_run_ids, *(i for i in run_ids if i not in _current_run_ids)]


def current_run_ids() -> list[int]:
    return list(_current_run_ids)


def models_loaded() -> list[dict[str, str]]:
    """The models this process holds, from the backends' per-process cache."""
    return [{name: asdict(spec)[name] for name in MODEL_FIELDS} for spec in backends.loaded_specs()]


def process_name(nodename: str) -> str:
    """`nodename#index`: the pool slot, stable when a child process is replaced."""
    index = getattr(current_process(), "index", 0)
    return f"{nodename}#{index}"


def heartbeat_once(*, name: str) -> None:
    """Report once: this process's WorkerHeartbeat row, and its current run's heartbeat."""
    from grading.services.pipeline import grading_run_heartbeat, worker_heartbeat_record

    run_ids = _current_run_ids
    if run_ids:
        grading_run_heartbeat(run_ids=run_ids)
    worker_heartbeat_record(
        name=name,
        pid=os.getpid(),
        models_loaded=models_loaded(),
        current_run_id=run_ids[0] if run_ids else None,
    )


class _Heartbeat(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name="aaie-heartbeat", daemon=True)
        self.process_name = name
        self.pid = os.getpid()
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            db.close_old_connections()  # reconnect after a database restart
            try:
                heartbeat_once(name=self.process_name)
            except Exception:
                # A missed beat is harmless; a dead thread would make a live run look lost.
                logger.exception("Worker heartbeat failed; trying again.")
                db.connection.close()
            if self.stopping.wait(settings.GRADING_HEARTBEAT_SECONDS):
                break
        db.connection.close()


def heartbeat_start(*, nodename: str) -> None:
    """Start this process's heartbeat thread (once per process; a forked child starts its own)."""
    global _heartbeat
    if _heartbeat is not None and _heartbeat.pid == os.getpid() and _heartbeat.is_alive():
        return
    _heartbeat = _Heartbeat(process_name(nodename))
    _heartbeat.start()
    logger.info(
        "Heartbeat of %s every %ss.", _heartbeat.process_name, settings.GRADING_HEARTBEAT_SECONDS
    )


def heartbeat_stop() -> None:
    """On a clean shutdown: stop beating and remove this process from the admin's list."""
    from grading.services.pipeline import worker_heartbeat_forget

    heartbeat = _heartbeat
    if heartbeat is None or heartbeat.pid != os.getpid():
        return
    heartbeat.stopping.set()
    heartbeat.join(timeout=settings.GRADING_HEARTBEAT_SECONDS)
    try:
        worker_heartbeat_forget(name=heartbeat.process_name)
    except Exception:
        logger.exception("Could not remove the heartbeat of %s.", heartbeat.process_name)
