"""AAIE_LOG_FORMAT=json: one JSON object per line, tracebacks included."""

import json
import logging
import sys

from aaie.json_logging import JsonFormatter


def test_a_log_line_is_one_json_object_with_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "grading.tasks", logging.ERROR, __file__, 1, "Run %s crashed", (7,), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line  # one event, one line, whatever the traceback
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "grading.tasks"
    assert entry["message"] == "Run 7 crashed"
    assert "ValueError: boom" in entry["exception"]
