"""Reading the real Redis broker: which runs have a task waiting or handed out, queue depths."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from grading import broker
from grading.tasks import grade_run

pytestmark = pytest.mark.slow


def hand_to_a_worker(client: redis.Redis, *, delivered_at: float) -> None:
    """Move the oldest waiting grading message to the unacked set, as kombu does on delivery."""
    raw = client.rpop("grading")
    tag = json.loads(raw)["properties"]["delivery_tag"]
    client.hset(broker.UNACKED_KEY, tag, json.dumps([json.loads(raw), "", "grading"]))
    client.zadd(broker.UNACKED_INDEX_KEY, {tag: delivered_at})


def test_the_sweep_sees_waiting_and_recently_delivered_tasks_only(clean_broker):
    client = redis.Redis.from_url(clean_broker)
    for run_id in (11, 12, 13):
        grade_run.delay(run_id)
    hand_to_a_worker(client, delivered_at=time.time())  # 11: a worker has it now
    hand_to_a_worker(client, delivered_at=time.time() - 3600)  # 12: its worker vanished

    found = broker.run_ids_in_broker(delivered_since=timezone.now() - timedelta(minutes=5))

    assert found == {11, 13}
    assert broker.queue_depths(("grading", "default")) == {"grading": 1, "default": 0}


def test_other_tasks_and_unreadable_messages_are_ignored(clean_broker):
    client = redis.Redis.from_url(clean_broker)
    client.lpush("grading", b"not json")
    client.lpush("grading", json.dumps({"headers": {"task": "grading.tasks.sweep_runs"}}))
    grade_run.delay(7)
    assert broker.run_ids_in_broker(delivered_since=timezone.now()) == {7}


def test_a_broker_that_does_not_answer_says_so(monkeypatch):
    from aaie.celery import app
    from aaie.local_redis import free_port

    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(broker.BrokerUnavailable):
        broker.run_ids_in_broker(delivered_since=timezone.now())
    with pytest.raises(broker.BrokerUnavailable):
        broker.queue_depths()
