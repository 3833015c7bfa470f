"""Pipeline overhead (issue 9): how fast real Celery workers, Redis and the database get through a
batch when the model costs nothing (the scripted backend).

    .venv/bin/python bench/pipeline.py [--submissions N] [--workers W] [--concurrency C]
                                       [--out FILE]

Steps:
1. A database of its own: SQLite in a temporary folder; with DATABASE_URL set, a database named
   --database-name (default aaie_bench) on that PostgreSQL server, made afresh. Migrated.
2. A private Redis (aaie.local_redis), unless REDIS_URL names one.
3. One course, rubric and assignment graded by a scripted model profile, and N submissions.
4. W Celery worker processes (the tests' command line), each with C pool processes; all ready.
5. Grading requested for the whole assignment, as "Grade all with AI" does; wait for every run.
6. Report submissions/s (first request to last finished run), the time from "grade" to
   "started" and from "started" to "finished", outcomes and the machine; write a JSON file.
Workers, Redis and the database (or its folder) are removed at the end, whatever happened.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a script, only bench/ would be on the path

from bench.common import (  # noqa: E402 (after the path)
    machine_info,
    process_group_cpu_seconds,
    summary,
    write_results,
)
from tests.processes import database_url_for_workers  # noqa: E402 (the tests' workers' too)

DEFAULT_SUBMISSIONS = 1500
DEFAULT_WORKERS = 1
DEFAULT_CONCURRENCY = 2
DEFAULT_PROBES = 20
DEFAULT_TIMEOUT_SECONDS = 600
DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "pipeline.json"
DEFAULT_DATABASE_NAME = "aaie_bench"
GOAL_SUBMISSIONS_PER_SECOND = 50

WORKER_START_TIMEOUT_SECONDS = 60
WORKER_STOP_TIMEOUT_SECONDS = 15
POLL_SECONDS = 0.2
LOG_TAIL_CHARS = 4000
BENCH_USER_PREFIX = "bench-student-"
SUBMISSION_TEXT = "Recursion is a function calling itself; it needs a base case: n! = n (n-1)!."


class BenchError(RuntimeError):
    """The benchmark could not run to the end (a worker died, runs never finished)."""


class WorkerProcess:
    """A Celery worker started with the tests' command line, in its own process group."""

    def __init__(self, *, name: str, concurrency: int, env: dict[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        command = [
            sys.executable, "-m", "celery", "-A", "aaie", "worker",
            "--queues", "grading,default",
            "--concurrency", str(concurrency),
            "--loglevel", "INFO",
            "--hostname", f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        ]  # fmt: skip
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self) -> str:
        return self.log_path.read_text()[-LOG_TAIL_CHARS:]

    def is_ready(self) -> bool:
        if self.process.poll() is not None:
            raise BenchError(f"Worker {self.name} exited:\n{self.log_tail()}")
        return "ready." in self.log_path.read_text()

    def cpu_seconds(self) -> float:
        """CPU time of the worker and its pool processes so far."""
        return process_group_cpu_seconds(self.process.pid)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"Worker {self.name} exited while grading:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the group (a warm shutdown), SIGKILL if it does not end in time."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(WORKER_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"Timed out after {timeout:g} s waiting for {what}.")
        time.sleep(POLL_SECONDS)


def database_description() -> dict[str, str]:
    from django.db import connection

    if connection.vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
    return {"engine": connection.vendor, "version": version}


def seed(*, submissions: int, probes: int):
    """An educator, a course, a two-criterion rubric and a scripted model profile; a batch
    assignment with `submissions` submissions and a probe assignment with `probes`, each from
    its own student. Returns (batch, probe, educator)."""
    from django.contrib.auth import get_user_model

    from grading.models import Enrolment, ModelProfile, Submission
    from grading.services.courses import assignment_create, course_create
    from grading.services.rubrics import CriterionInput, LevelInput, rubric_create

    user_model = get_user_model()
    educator = user_model.objects.create_user(username="bench-educator")
    course = course_create(code="BENCH1", title="Pipeline benchmark", created_by=educator)
    rubric_version = rubric_create(
        name="Benchmark rubric",
        created_by=educator,
        criteria=[
            CriterionInput(
                title="Correctness",
                max_points=4,
                levels=[LevelInput("Right", 4), LevelInput("Partial", 2), LevelInput("Wrong", 0)],
            ),
            CriterionInput(
                title="Clarity", max_points=2, levels=[LevelInput("Clear", 2), LevelInput("No", 0)]
            ),
        ],
    )
    profile = ModelProfile.objects.create(
        name="Benchmark (scripted)", backend=ModelProfile.Backend.SCRIPTED, model="scripted"
    )
    assignments = [
        assignment_create(
            course=course,
            title=title,
            task="Explain recursion with an example.",
            rubric_version=rubric_version,
            model_profile=profile,
        )
        for title in ("Batch", "Probe")
    ]
    user_model.objects.bulk_create(
        user_model(username=f"{BENCH_USER_PREFIX}{index:06d}")
        for index in range(max(submissions, probes))
    )
    students = list(user_model.objects.filter(username__startswith=BENCH_USER_PREFIX))
    Enrolment.objects.bulk_create(
        Enrolment(course=course, user=student, role=Enrolment.Role.STUDENT) for student in students
    )
    Submission.objects.bulk_create(
        Submission(
            assignment=assignment,
            student=student,
            original_name="essay.txt",
            original_file=f"submissions/bench/{assignment.pk}/{student.pk}.txt",
            text=f"{SUBMISSION_TEXT} ({student.pk})",
            content_hash=hashlib.sha256(str(student.pk).encode()).hexdigest(),
            size=len(SUBMISSION_TEXT),
        )
        for assignment, count in zip(assignments, (submissions, probes), strict=True)
        for student in students[:count]
    )
    return *assignments, educator


@contextmanager
def running_workers(
    *, count: int, concurrency: int, broker_url: str, log_dir: Path
) -> Iterator[list[WorkerProcess]]:
    """`count` ready workers on this process's database and `broker_url`; stopped on exit."""
    workers: list[WorkerProcess] = []
    try:
        for index in range(count):
            name = f"bench{index + 1}"
            var_dir = log_dir / name
            var_dir.mkdir(parents=True, exist_ok=True)
            env = {
                "DATABASE_URL": database_url_for_workers(),
                "REDIS_URL": broker_url,
                "AAIE_VAR_DIR": str(var_dir),
            }
            workers.append(
                WorkerProcess(
                    name=name, concurrency=concurrency, env=env, log_path=log_dir / f"{name}.log"
                )
            )
        wait_for(
            lambda: all(worker.is_ready() for worker in workers),
            timeout=WORKER_START_TIMEOUT_SECONDS,
            what="the workers to start",
        )
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def run_pipeline_benchmark(
    *,
    submissions: int,
    workers: int,
    concurrency: int,
    log_dir: Path,
    probes: int = DEFAULT_PROBES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict:
    """Seed, start workers, grade `probes` submissions one at a time (the latency of an idle
    pipeline), then request grading for `submissions` at once, wait, and report.

    Runs on this process's database (Django set up and migrated) and sends tasks to this
    process's Celery broker, which the workers share.
    """
    from django.utils import timezone

    from aaie.celery import app as celery_app
    from grading.models import GradingRun
    from grading.services.grading import grading_runs_request_for_assignment

    machine = machine_info()  # before the benchmark adds its own load
    assignment, probe, educator = seed(submissions=submissions, probes=probes)
    runs = GradingRun.objects.filter(submission__assignment=assignment)
    broker_url = celery_app.conf.broker_url
    with running_workers(
        count=workers, concurrency=concurrency, broker_url=broker_url, log_dir=log_dir
    ) as processes:
        idle = grade_one_at_a_time(assignment=probe, educator=educator, workers=processes)
        workers_cpu = -sum(worker.cpu_seconds() for worker in processes)
        requester_cpu = -time.process_time()
        requested_at = timezone.now()
        clock = time.monotonic()
        queued = grading_runs_request_for_assignment(assignment=assignment, requested_by=educator)
        request_seconds = time.monotonic() - clock

        def all_ended() -> bool:
            for worker in processes:
                worker.check_alive()
            return not runs.filter(status__in=GradingRun.ACTIVE_STATUSES).exists()

        wait_for(all_ended, timeout=timeout_seconds, what=f"{queued} runs to finish")
        workers_cpu += sum(worker.cpu_seconds() for worker in processes)
        requester_cpu += time.process_time()

    return {
        "benchmark": "pipeline",
        "measured_at": requested_at.isoformat(timespec="seconds"),
        "machine": machine,
        "database": database_description(),
        "broker": broker_url.rpartition("@")[2],  # never a password
        "workers": workers,
        "concurrency": concurrency,
        "submissions": submissions,
        **outcome(runs=runs, requested_at=requested_at),
        "idle": idle,
        "request_seconds": round(request_seconds, 3),
        # Contention-proof cost: CPU per submission of the workers and of this process (the
        # requests, then polling); a database server's own CPU is not counted.
        "cpu_ms_per_submission": {
            "workers": round(1000 * workers_cpu / submissions, 2),
            "requester": round(1000 * requester_cpu / submissions, 2),
        },
        "goal_submissions_per_second": GOAL_SUBMISSIONS_PER_SECOND,
    }


def grade_one_at_a_time(*, assignment, educator, workers: list[WorkerProcess]) -> dict:
    """Request each submission's grading alone, waiting for it to end before the next: with
    nothing queued, "grade" to "started" is the pipeline's own latency."""
    from grading.models import GradingRun
    from grading.services.grading import grading_run_request

    runs = []
    for submission in assignment.submissions.all():
        run = grading_run_request(submission=submission, requested_by=educator)

        def ended(run_id: int = run.pk) -> bool:
            for worker in workers:
                worker.check_alive()
            return GradingRun.objects.filter(pk=run_id, finished_at__isnull=False).exists()

        wait_for(ended, timeout=WORKER_START_TIMEOUT_SECONDS, what=f"probe run {run.pk}")
        runs.append(run.pk)
    rows = GradingRun.objects.filter(pk__in=runs).values_list(
        "queued_at", "started_at", "finished_at"
    )
    return {
        "runs": len(runs),
        "grade_to_started_seconds": summary(
            [(started - queued).total_seconds() for queued, started, _ in rows]
        ),
        "started_to_finished_seconds": summary(
            [(finished - started).total_seconds() for _, started, finished in rows]
        ),
    }


def outcome(*, runs, requested_at: datetime) -> dict:
    """Counts by status, throughput and latencies of the finished runs."""
    from grading.models import GradingRun

    rows = list(runs.values_list("status", "queued_at", "started_at", "finished_at"))
    finished = [row for row in rows if row[3] is not None]
    started = [row for row in rows if row[2] is not None]
    elapsed = (max(row[3] for row in finished) - requested_at).total_seconds() if finished else 0
    statuses = [row[0] for row in rows]
    return {
        "runs": len(rows),
        "succeeded": statuses.count(GradingRun.Status.SUCCEEDED),
        "failed": statuses.count(GradingRun.Status.FAILED),
        "elapsed_seconds": round(elapsed, 3),
        "submissions_per_second": round(len(finished) / elapsed, 1) if elapsed else None,
        "grade_to_started_seconds": summary(
            [(started_at - queued_at).total_seconds() for _, queued_at, started_at, _ in started]
        ),
        "started_to_finished_seconds": summary(
            [(end - start).total_seconds() for _, _, start, end in finished if start is not None]
        ),
    }


# --- The command: its own database and Redis ---------------------------------------------------


@contextmanager
def bench_database(*, database_name: str, work_dir: Path) -> Iterator[str]:
    """A fresh database's URL: SQLite under `work_dir`, or `database_name` on the PostgreSQL
    server DATABASE_URL names. PostgreSQL's is dropped on exit; SQLite's goes with `work_dir`."""
    given = os.environ.get("DATABASE_URL")
    if not given:
        yield f"sqlite:///{work_dir / 'bench.sqlite3'}"
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    server = dj_database_url.parse(given)
    if server["ENGINE"] != "django.db.backends.postgresql":
        raise BenchError(f"DATABASE_URL must name PostgreSQL or be unset, not {server['ENGINE']}.")
    if database_name in {server["NAME"], "postgres", "template0", "template1"}:
        raise BenchError(f"Refusing to use {database_name!r}: give the benchmark its own database.")
    connect = {
        "host": server["HOST"] or "localhost",
        "port": server["PORT"] or 5432,
        "user": server["USER"],
        "password": server["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    name = sql.Identifier(database_name)
    with psycopg.connect(**connect) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield given.rsplit("/", 1)[0] + f"/{database_name}"
    finally:
        from django import db

        db.connections.close_all()
        with psycopg.connect(**connect) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def broker_url(stack: ExitStack) -> str:
    """REDIS_URL if set, else a private Redis that the stack stops."""
    given = os.environ.get("REDIS_URL")
    if given:
        return given
    from aaie.local_redis import LocalRedis

    server = LocalRedis().start()
    stack.callback(server.stop)
    return server.url


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=DEFAULT_SUBMISSIONS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="worker processes")
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="pool processes per worker"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON results file")
    parser.add_argument(
        "--database-name",
        default=DEFAULT_DATABASE_NAME,
        help="the PostgreSQL database to create and drop (with DATABASE_URL set)",
    )
    parser.add_argument(
        "--probes", type=int, default=DEFAULT_PROBES, help="runs graded one at a time first"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    return parser.parse_args(argv)


def print_table(results: dict) -> None:
    started = results["grade_to_started_seconds"]
    ran = results["started_to_finished_seconds"]
    rate = results["submissions_per_second"]
    cpu = results["cpu_ms_per_submission"]
    idle = results["idle"]["grade_to_started_seconds"]
    rows = [
        ("machine", f"{results['machine']['cores']} cores, {results['machine']['cpu_model']}"),
        ("database", f"{results['database']['engine']} {results['database']['version']}"),
        ("workers x concurrency", f"{results['workers']} x {results['concurrency']}"),
        ("runs succeeded / failed", f"{results['succeeded']} / {results['failed']}"),
        ("submissions/s", f"{rate} (goal {GOAL_SUBMISSIONS_PER_SECOND})"),
        ("elapsed s (requesting)", f"{results['elapsed_seconds']} ({results['request_seconds']})"),
        ("grade->started p50/p95/max s", f"{started['p50']} / {started['p95']} / {started['max']}"),
        ("  idle, one at a time p50/p95 s", f"{idle['p50']} / {idle['p95']}"),
        ("started->finished p50/p95 s", f"{ran['p50']} / {ran['p95']}"),
        ("CPU ms/submission workers, requester", f"{cpu['workers']}, {cpu['requester']}"),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def stop_on_sigterm(signum, frame) -> None:
    raise SystemExit("Stopped.")  # unwinds main()'s cleanup, as Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    with ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aaie-bench-")))
        database_url = stack.enter_context(
            bench_database(database_name=args.database_name, work_dir=work_dir)
        )
        # Settings read the environment once, at setup: this process and its workers share it.
        os.environ.update(
            DATABASE_URL=database_url,
            REDIS_URL=broker_url(stack),
            AAIE_VAR_DIR=str(work_dir),
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aaie.settings")  # or a variant to try
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        results = run_pipeline_benchmark(
            submissions=args.submissions,
            workers=args.workers,
            concurrency=args.concurrency,
            log_dir=work_dir / "workers",
            probes=args.probes,
            timeout_seconds=args.timeout,
        )
    write_results(args.out, results)
    print_table(results)
    print(f"Results written to {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        sys.exit(f"The benchmark stopped: {error}")
