"""docker/ cannot run here, so check what can be checked: every process the compose file starts
names a script, management command, Celery app or WSGI app that exists in this project, and
every AAIE_ variable it sets is one the project reads."""

from __future__ import annotations

import importlib
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.management import get_commands

from tests.processes import REPO_ROOT

DOCKER_DIR = REPO_ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER_DIR / "compose.yaml").read_text())
OUR_IMAGE_SERVICES = {name: s for name, s in COMPOSE["services"].items() if "build" in s}


def words(command) -> list[str]:
    return command if isinstance(command, list) else shlex.split(command)


def check_command(argv: list[str]) -> None:
    """Raise AssertionError unless what `argv` runs exists in the project."""
    program, *args = argv
    if program.startswith("docker/"):
        script = REPO_ROOT / program
        assert script.is_file(), f"{program} is missing"
        if script.suffix == ".sh":
            assert os.access(script, os.X_OK), f"{program} is not executable"
            for line in script_commands(script):
                check_command(line)
    elif program in ("python", "python3") and args[:1] == ["manage.py"]:
        assert args[1] in get_commands(), f"manage.py has no command {args[1]!r}"
    elif program in ("python", "python3"):
        assert (REPO_ROOT / args[0]).is_file(), f"{args[0]} is missing"
    elif program == "celery":
        # Resolved exactly as the celery command line resolves it.
        assert isinstance(find_app(args[args.index("-A") + 1]), Celery)
        assert args[args.index("-A") + 2] in ("worker", "beat")
    elif program == "gunicorn":
        module_name, _, attribute = args[0].partition(":")
        assert callable(getattr(importlib.import_module(module_name), attribute))
    else:
        pytest.fail(f"unexpected program {program!r} in {argv}")


def script_commands(script: Path) -> list[list[str]]:
    """The commands a start script runs (continuation lines joined, comments and shell
    built-ins skipped)."""
    text = script.read_text().replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith(("set ", "if ", "fi")):
            continue
        argv = shlex.split(line)
        commands.append(argv[1:] if argv[0] == "exec" else argv)
    return commands


@pytest.mark.parametrize("name", sorted(OUR_IMAGE_SERVICES))
def test_each_service_of_our_image_runs_something_that_exists(name):
    service = OUR_IMAGE_SERVICES[name]
    assert "command" in service or "entrypoint" in service, f"{name} has no command"
    check_command(words(service.get("entrypoint") or service["command"]))
    build = service["build"]
    assert (DOCKER_DIR / build["context"] / build["dockerfile"]).resolve().is_file()


@pytest.mark.parametrize("name", sorted(OUR_IMAGE_SERVICES))
def test_each_health_check_exists(name):
    check = OUR_IMAGE_SERVICES[name].get("healthcheck")
    if check is not None:
        assert check["test"][0] == "CMD"
        check_command(check["test"][1:])


def test_the_stack_has_every_process_the_issue_asks_for():
    services = COMPOSE["services"]
    commands = {name: " ".join(words(s.get("command", ""))) for name, s in services.items()}
    assert "start-web.sh" in commands["web"]
    assert "start-worker.sh" in commands["worker"]
    assert "start-beat.sh" in commands["beat"]
    assert services["redis"]["image"].startswith("redis")
    assert services["postgres"]["image"].startswith("postgres")
    assert services["vllm"]["profiles"] == ["vllm"]
    assert "--reasoning-parser" in services["vllm"]["command"]
    # A grading worker and a light worker: light tasks never wait behind the model.
    assert services["worker"]["environment"]["AAIE_WORKER_QUEUES"] == "grading"
    assert services["worker-light"]["environment"]["AAIE_WORKER_QUEUES"] == "default"


def test_every_aaie_variable_the_stack_sets_is_read_by_the_project():
    read_by = "\n".join(
        path.read_text()
        for path in [
            REPO_ROOT / "aaie" / "settings.py",
            *DOCKER_DIR.glob("*.sh"),
            DOCKER_DIR / "healthcheck.py",
        ]
    )
    for name, service in OUR_IMAGE_SERVICES.items():
        for variable in service.get("environment", {}):
            if variable.startswith("AAIE_"):
                assert re.search(rf"\b{variable}\b", read_by), f"{name}: {variable} is read nowhere"
