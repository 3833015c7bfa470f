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


def production_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **PRODUCTION, **extra}
    # Test helpers elsewhere may set these; a production process never has them.
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "AAIE_SECRET_KEY"):
        if name not in extra:
            env.pop(name, None)
    return env


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=production_env(**env),
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
    result = manage("check")
    assert result.returncode != 0
    assert "AAIE_SECRET_KEY must be set" in result.stderr
