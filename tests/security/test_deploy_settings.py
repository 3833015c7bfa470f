"""Production settings pass Django's deployment checks, and refuse to start without a secret."""

import os
import secrets
import subprocess
import sys

from tests.processes import REPO_ROOT

PRODUCTION = {
    "AAIE_DEBUG": "0",
    "AAIE_ALLOWED_HOSTS": "aaie.example.edu",
    "DATABASE_URL": "sqlite:////tmp/aaie-deploy-check.sqlite3",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", AAIE_SECRET_KEY=secrets.token_urlsafe(50)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, **PRODUCTION}
    env.pop("AAIE_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "AAIE_SECRET_KEY must be set" in result.stderr
