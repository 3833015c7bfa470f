"""Web benchmark: the assignment dashboard and the review page of a large graded class.

Usage: .venv/bin/python bench/web.py [--submissions 1000] [--clients 10] [--seconds 20]
                                     [--workers N] [--out bench/results/web.json]

Steps:
1. Make a database of its own: SQLite in a temporary folder, or, when DATABASE_URL names a
   PostgreSQL server, a database called aaie_bench_web on it (dropped at the end).
2. Migrate and seed one assignment with N graded submissions: texts and reasoning traces of a
   few KB, per-criterion AI results with evidence, some reviews, approvals and releases, a few
   flags.
3. Count the SQL queries each page makes, once, with Django's test client on the same database.
4. Start gunicorn as docker/start-web.sh does (AAIE_DEBUG=0, static files collected) and load
   each page with wrk from --clients connections for --seconds, sending an educator's session
   cookie and the X-Forwarded-Proto header a TLS proxy adds.
5. Write the JSON report, print a table, stop gunicorn and remove the database.

Per page it reports requests, requests/s, p50/p95/p99 latency, SQL queries, the page's size,
the CPU time the gunicorn workers spent per request (from /proc: the figure other processes on
the machine disturb least) and the load average, since any other work on a small machine shows
up in the latencies.

The load generator is wrk (Debian package `wrk`): it is written in C, so on a small machine it
takes little CPU from the server it measures, and a Lua script gives the p95 it does not print.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script, only bench/ would be on the path

from bench.common import (  # noqa: E402 (after the path)
    machine_info,
    process_group_cpu_seconds,
    write_results,
)

BENCH_DATABASE = "aaie_bench_web"
DEFAULT_OUT = REPO / "bench" / "results" / "web.json"
# Review URLs the clients cycle through: enough to defeat any per-page warm cache.
REVIEW_PAGES = 100
P95_TARGET_MS = 150
SERVER_START_TIMEOUT_S = 60
WRK_MISSING = (
    "wrk is not installed: install the Debian package (`apt-get install wrk`) and run again."
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="gunicorn sync workers (default: CPU cores + 1, see default_workers)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args()


def default_workers() -> int:
    """One sync worker per core plus one: 3 on the 2-core machine this targets.

    The pages are CPU-bound Python (ORM and templates) with short database waits, so workers
    beyond the cores only add context switches and memory while 10 clients queue either way;
    the extra one keeps a core busy while another worker waits on PostgreSQL or SQLite.
    Gunicorn's rule of 2 x cores + 1 suits apps that wait on the network more than ours does.
    """
    return (os.cpu_count() or 1) + 1


# --- the database -------------------------------------------------------------------------


@contextmanager
def bench_database(workdir: Path) -> Iterator[str]:
    """A DATABASE_URL for a database of the benchmark's own, removed afterwards."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    import psycopg

    base, _, _ = server.rpartition("/")
    admin_url = f"{base}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    try:
        yield f"{base}/{BENCH_DATABASE}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def production_environment(workdir: Path, database_url: str) -> dict[str, str]:
    """The settings a production web process runs with, pointed at the bench's own files."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aaie.settings",
        "AAIE_DEBUG": "0",
        "AAIE_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "AAIE_VAR_DIR": str(workdir),
        "AAIE_MEDIA_ROOT": str(workdir / "media"),
        "AAIE_STATIC_ROOT": str(workdir / "static"),
        "AAIE_LOG_LEVEL": "WARNING",
        # docker/compose.yaml keeps connections for 60 s: a page does not pay for a new one.
        "AAIE_DB_CONN_MAX_AGE": os.environ.get("AAIE_DB_CONN_MAX_AGE", "60"),
    }


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


# --- what each page costs -----------------------------------------------------------------


def page_urls(seeded) -> dict[str, list[str]]:
    """Per page, the URLs the clients cycle through."""
    from django.urls import reverse

    dashboard = reverse("assignment_detail", args=[seeded.assignment_id])
    step = max(1, len(seeded.submission_ids) // REVIEW_PAGES)
    return {
        "dashboard": [
            dashboard,
            f"{dashboard}?sort=ai_total&order=desc",
            f"{dashboard}?status=succeeded&sort=final_total",
            f"{dashboard}?flagged=1",
            f"{dashboard}?page=3",
        ],
        "review": [reverse("submission_review", args=[pk]) for pk in seeded.submission_ids[::step]],
    }


def logged_in_client(seeded):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=seeded.educator_id))
    return client


def query_counts(client, urls: dict[str, list[str]]) -> dict[str, list[int]]:
    """SQL queries per page for its first five URLs and its last, counted in this process on
    the same database."""
    return {
        page: [queries_for(client, path) for path in dict.fromkeys([*paths[:5], paths[-1]])]
        for page, paths in urls.items()
    }


def queries_for(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, secure=True)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}, not 200")
    return len(captured)


# --- the server and the load --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int) -> Iterator[tuple[str, int]]:
    """gunicorn serving the app as docker/start-web.sh starts it, on a local port.

    Yields its base URL and its process group id.
    """
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "aaie.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--access-logfile",  # production logs every request; the cost is part of the page's
        os.devnull,
    ]
    # A session of its own: its process group is the master and the workers, whose CPU we count.
    server = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/accounts/login/", server)
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def wait_until_serving(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited while starting; see its log above")
        try:
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                return
        except OSError:  # refused while binding, or slow while the workers import Django
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url} within {SERVER_START_TIMEOUT_S} s")


def check_logged_in(base: str, path: str, cookie: str) -> None:
    """The session works over HTTP: the page answers 200, not a redirect to the login."""
    request = urllib.request.Request(
        base + path, headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise SystemExit(f"{path} answered {status} to the educator's session, not 200")


WRK_SCRIPT = """
local paths = {%(paths)s}
local next_index = 1
wrk.headers["Cookie"] = "%(cookie)s"
wrk.headers["X-Forwarded-Proto"] = "https"

request = function()
  local path = paths[next_index]
  next_index = next_index %% #paths + 1
  return wrk.format("GET", path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, '
    .. '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, '
    .. '"latency_us": {"p50": %%d, "p95": %%d, "p99": %%d, "max": %%d, "mean": %%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def run_wrk(base: str, paths: list[str], cookie: str, clients: int, seconds: int) -> dict:
    """Load the URLs round-robin from `clients` connections; wrk's summary as a dict."""
    script = WRK_SCRIPT % {
        "paths": ", ".join(json.dumps(path) for path in paths),
        "cookie": cookie,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        command = [
            "wrk",
            "--threads",
            "1",  # one event loop drives 10 connections easily and leaves the cores to the app
            "--connections",
            str(clients),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--script",
            lua.name,
            base + paths[0],
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(line for line in output.splitlines() if line.startswith("WRK-JSON "))
    return json.loads(line.removeprefix("WRK-JSON "))


def page_report(wrk: dict, queries: list[int], urls: list[str]) -> dict:
    latency = wrk["latency_us"]
    errors = sum(wrk["errors"].values())
    return {
        "urls": len(urls),
        "requests": wrk["requests"],
        "errors": errors,
        "requests_per_s": round(wrk["requests"] / (wrk["duration_us"] / 1e6), 1),
        "latency_ms": {key: round(value / 1000, 1) for key, value in latency.items()},
        "p95_below_target": latency["p95"] / 1000 < P95_TARGET_MS and errors == 0,
        "queries_per_page": queries,
        "kb_per_page": round(wrk["bytes"] / max(1, wrk["requests"]) / 1024, 1),
    }


def machine() -> dict:
    from django.db import connection

    return {**machine_info(), "database": database_version(connection), "wrk": wrk_version()}


def wrk_version() -> str:
    output = subprocess.run(["wrk", "--version"], capture_output=True, text=True)  # noqa: S607
    return (output.stdout or output.stderr).splitlines()[0]


def database_version(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return f"{connection.vendor} {cursor.fetchone()[0]}"


TABLE_COLUMNS = ("page", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "queries")
TABLE_COLUMNS_MORE = ("KB", "cpu ms", f"p95<{P95_TARGET_MS}ms")


def print_table(report: dict) -> None:
    print(
        f"\n{report['submissions']} submissions · {report['clients']} clients · "
        f"{report['seconds']} s per page · {report['workers']} gunicorn workers · "
        f"{report['machine']['database']} · {report['machine']['cores']} cores · "
        f"load average {report['machine']['load_average_1min']} before"
    )
    names = (*TABLE_COLUMNS, *TABLE_COLUMNS_MORE)
    print(f"{names[0]:<9} " + " ".join(f"{name:>9}" for name in names[1:]))
    for page, row in report["pages"].items():
        latency = row["latency_ms"]
        cells = (
            page,
            row["requests"],
            row["errors"],
            row["requests_per_s"],
            latency["p50"],
            latency["p95"],
            latency["p99"],
            "/".join(str(n) for n in sorted(set(row["queries_per_page"]))),
            row["kb_per_page"],
            row["server_cpu_ms_per_request"],
            "yes" if row["p95_below_target"] else "NO",
        )
        print(f"{page:<9} " + " ".join(f"{cell:>9}" for cell in cells[1:]))


def measure(args: argparse.Namespace, workdir: Path, database_url: str) -> dict:
    """Seed, count queries, serve and load each page: the report."""
    env = production_environment(workdir, database_url)
    setup_django(env)
    from bench.web_seed import seed  # imports the models: only once Django is set up

    started = time.monotonic()
    seeded = seed(args.submissions)
    update_planner_statistics()
    print(f"seeded {args.submissions} submissions in {time.monotonic() - started:.1f} s")
    urls = page_urls(seeded)
    client = logged_in_client(seeded)
    queries = query_counts(client, urls)
    cookie = session_cookie(client)
    report = {
        "submissions": args.submissions,
        "clients": args.clients,
        "seconds": args.seconds,
        "workers": args.workers,
        "load_generator": "wrk, 1 thread, closed loop",
        "p95_target_ms": P95_TARGET_MS,
        "machine": machine(),
        "pages": {},
    }
    from django.db import connections

    connections.close_all()  # PostgreSQL drops the database at the end: let go of it
    with gunicorn(env, free_port(), args.workers) as (base, group_id):
        for page, paths in urls.items():
            check_logged_in(base, paths[0], cookie)
            run_wrk(base, paths, cookie, args.clients, 2)  # warm every worker
            cpu_before = process_group_cpu_seconds(group_id)
            result = run_wrk(base, paths, cookie, args.clients, args.seconds)
            cpu = process_group_cpu_seconds(group_id) - cpu_before
            report["pages"][page] = {
                **page_report(result, queries[page], paths),
                # What a page costs the server, whatever else runs on the machine.
                "server_cpu_ms_per_request": round(1000 * cpu / max(1, result["requests"]), 1),
                # Other processes on the machine slow the pages: say how busy it was.
                "load_average_after": round(os.getloadavg()[0], 2),
            }
    return report


def update_planner_statistics() -> None:
    """On PostgreSQL, ANALYZE the freshly seeded tables, as autovacuum soon does on a server
    in use: without statistics the planner takes a class of 1,000 for a dozen rows."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def session_cookie(client) -> str:
    from django.conf import settings

    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_MISSING)
    with tempfile.TemporaryDirectory(prefix="aaie-bench-web-") as tmp:
        workdir = Path(tmp)
        with bench_database(workdir) as database_url:
            report = measure(args, workdir, database_url)
    write_results(args.out, report)
    print_table(report)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
