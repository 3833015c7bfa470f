"""Real processes for tests: a Celery worker on the test database and a test Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT_SECONDS = 60
WORKER_STOP_TIMEOUT_SECONDS = 15
POLL_SECONDS = 0.2
# Test workers report often, so a lost one is noticed within seconds.
TEST_HEARTBEAT_SECONDS = 1


def database_url_for_workers() -> str:
    """The URL of the database this test runs on, for worker processes to share it."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A Celery worker process in its own process group, so that kill -9 takes its children."""

    def __init__(
        self,
        *,
        broker_url: str,
        log_path: Path,
        name: str,
        env: dict[str, str],
        queues: str = "grading,default",
    ) -> None:
        self.log_path = log_path
        self.name = name
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "aaie",
                    "worker",
                    "--queues",
                    queues,
                    "--concurrency",
                    "1",
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    f"{name}@%h",
                    "--without-gossip",
                    "--without-mingle",
                ],  # fmt: skip
                cwd=REPO_ROOT,
                env={
                    **os.environ,
                    "DATABASE_URL": database_url_for_workers(),
                    "REDIS_URL": broker_url,
                    "PYTHONUNBUFFERED": "1",
                    "AAIE_GRADING_HEARTBEAT_SECONDS": str(TEST_HEARTBEAT_SECONDS),
                    **env,
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text()[-6000:]

    def wait_ready(self) -> Worker:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
        while "ready." not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"Worker {self.name} did not start:\n{self.log()}")
            time.sleep(POLL_SECONDS)
        return self

    def kill(self) -> None:
        """kill -9 the worker and its pool processes, as a crashed machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(WORKER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def poll(self) -> int | None:
        return self.process.poll()
