"""docs/api.md's Python lines, run as written against the live app with a real Celery worker.

The first block names the server, the token, the course and the class's files; the test puts the
live server's values in their place and runs the other blocks unchanged, in order.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("scripted_model")]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_the_api_guide_grades_a_class_end_to_end(
    celery_worker_process, live_server, course, educator, tmp_path
):
    blocks = PYTHON_BLOCK.findall(GUIDE.read_text())
    assert len(blocks) >= 4, "the guide lost its Python lines"
    answers = {
        "student": tmp_path / "student.txt",
        "classmate": tmp_path / "classmate.py",
    }
    answers["student"].write_text("Recursion: a function calls itself until a base case.\n")
    answers["classmate"].write_text("def fact(n):\n    return 1 if n == 0 else n * fact(n - 1)\n")

    namespace: dict = {}
    exec(blocks[0], namespace)  # noqa: S102 - the guide's own lines
    namespace.update(
        API=f"{live_server.url}/api/v1",
        TOKEN=Token.objects.create(user=educator).key,
        COURSE_ID=course.pk,
        CLASS={name: str(path) for name, path in answers.items()},
    )
    for block in blocks[1:]:
        exec(block, namespace)  # noqa: S102

    results = namespace["results"]
    assert set(results) == {"student", "classmate"}
    for run in results.values():
        assert run["status"] == "succeeded", run["error"]
        assert [r["title"] for r in run["results"]] == ["Understanding"]
        assert run["max_total"] == 10  # the guide's chosen points for "excellent"
        assert run["reasoning_trace"]
    rows = list(csv.reader(io.StringIO(namespace["gradebook_csv"])))
    assert sorted(row[0] for row in rows[1:]) == ["classmate", "student"]
