"""Read-only looks into the Celery broker (Redis): queue depths, and which runs have a task there.

The database is the truth about runs; this only tells the sweep whether a queued run still has a
task on its way to a worker. Key names follow kombu's Redis transport: one list per queue and
priority step, and delivered-but-unacknowledged messages in a hash indexed by delivery time.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime

import redis
from django.conf import settings

from aaie.celery import app

logger = logging.getLogger(__name__)

# kombu.transport.redis defaults.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
UNACKED_KEY = "unacked"
UNACKED_INDEX_KEY = "unacked_index"

GRADE_TASK_NAME = "grading.tasks.grade_run"
BROKER_TIMEOUT_SECONDS = 3


class BrokerUnavailable(Exception):
    """Redis did not answer; what it holds is unknown."""


def _client() -> redis.Redis:
    return redis.Redis.from_url(
        app.conf.broker_url,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
    )


def queue_keys(queue: str) -> list[str]:
    """The Redis lists that hold a queue's waiting messages, one per priority step."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


def broker_ping() -> None:
    try:
        _client().ping()
    except redis.RedisError as error:
        raise BrokerUnavailable(str(error)) from error


def queue_depths(queues: tuple[str, ...] | None = None) -> dict[str, int]:
    """Messages waiting in each queue (not counting those a worker holds)."""
    queues = queues or (settings.GRADING_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE)
    try:
        client = _client()
        return {queue: sum(client.llen(key) for key in queue_keys(queue)) for queue in queues}
    except redis.RedisError as error:
        raise BrokerUnavailable(str(error)) from error


def run_ids_in_broker(*, delivered_since: datetime) -> set[int]:
    """Runs with a grading task waiting in the queue, or handed to a worker since `delivered_since`.

    A task handed out longer ago whose run is still queued sits with a worker that is gone (or
    never started it); the sweep treats such a run as having no live task.
    """
    try:
        client = _client()
        waiting = [
            raw for key in queue_keys(settings.GRADING_QUEUE) for raw in client.lrange(key, 0, -1)
        ]
        recent_tags = client.zrangebyscore(UNACKED_INDEX_KEY, delivered_since.timestamp(), "+inf")
        delivered = client.hmget(UNACKED_KEY, recent_tags) if recent_tags else []
    except redis.RedisError as error:
        raise BrokerUnavailable(str(error)) from error
    # A delivered message is stored as [message, exchange, routing key].
    messages = [_loads(raw) for raw in waiting]
    messages += [(_loads(raw) or [None])[0] for raw in delivered if raw is not None]
    return {run_id for run_id in map(_grading_run_id, messages) if run_id is not None}


def _loads(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        logger.warning("Unreadable message in the broker: %.200r", raw)
        return None


def _grading_run_id(message: object) -> int | None:
    """The run id a grade_run message carries; None for any other or unreadable message."""
    try:
        if message.get("headers", {}).get("task") != GRADE_TASK_NAME:
            return None
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _embed = json.loads(body)
        run_id = args[0] if args else kwargs["run_id"]
        return int(run_id)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        if message is not None:
            logger.warning("Unreadable message in the grading queue: %.200r", message)
        return None
