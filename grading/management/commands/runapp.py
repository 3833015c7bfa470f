"""Run the whole app in one terminal: Redis (unless REDIS_URL is set), a grading worker, a light
worker, Celery beat (the sweep), the web.

Ctrl-C stops all of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from aaie.local_redis import LocalRedis

STOP_TIMEOUT_SECONDS = 15
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Run Redis, Celery workers, Celery beat and the web server until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port for the web")
        parser.add_argument("--concurrency", type=int, default=1, help="grading worker processes")

    def handle(self, *args, addr: str, concurrency: int, **options) -> None:
        env = dict(os.environ)
        local_redis = None
        if not env.get("REDIS_URL"):
            local_redis = LocalRedis().start()
            env["REDIS_URL"] = local_redis.url
            self.stdout.write(f"Started a private Redis at {local_redis.url}")
        python = sys.executable
        commands = {
            "worker": [
                python, "-m", "celery", "-A", "aaie", "worker",
                "--queues", "grading",
                "--concurrency", str(concurrency),
                "--hostname", "grading@%h",
                "--loglevel", "INFO",
            ],
            # Light tasks (text extraction, notifications, the sweep) never wait behind the model.
            "light-worker": [
                python, "-m", "celery", "-A", "aaie", "worker",
                "--queues", "default",
                "--concurrency", "1",
                "--hostname", "light@%h",
                "--loglevel", "INFO",
            ],
            # Beat sends the sweep that re-enqueues lost runs (grading/services/pipeline.py).
            "beat": [python, "-m", "celery", "-A", "aaie", "beat", "--loglevel", "INFO"],
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
        }  # fmt: skip
        processes = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"AAIE is running on http://{addr}/ — Ctrl-C stops."))
        stopping = False

        def request_stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            while not stopping:
                ended = [name for name, process in processes.items() if process.poll() is not None]
                if ended:
                    self.stderr.write(f"{', '.join(ended)} stopped; stopping the rest.")
                    break
                time.sleep(POLL_SECONDS)
        finally:
            self._stop(processes)
            if local_redis is not None:
                local_redis.stop()
            self.stdout.write("Stopped.")

    def _stop(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in processes.values():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
