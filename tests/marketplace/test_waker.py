"""A capture's wake-up is sent by its process's waker thread after the answer, the
captures of a few milliseconds sharing one, and none committed before the last wake-up
began left without one, and sent further apart while the runs are busy (issue 15,
docs/benchmarks.md "Capture")."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from marketplace import jobs


@pytest.fixture
def sent(app, monkeypatch):
    """Wake-ups recorded instead of sent to Redis: (thread name, time it began)."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # never reached
    calls = []

    def record(func):
        calls.append((threading.current_thread().name, time.monotonic(), func))
        time.sleep(0.02)  # a slow Redis: what is asked meanwhile waits for the next

    monkeypatch.setattr(jobs, "wake", record)
    yield calls
    assert jobs.settle_wakes()


def test_the_wake_up_is_sent_by_the_waker_not_by_the_request(sent):
    began = time.monotonic()
    jobs.wake_soon("marketplace.distribution:distribute_pending")
    assert time.monotonic() - began < 0.02  # the caller did not wait for the slow Redis
    assert jobs.settle_wakes()
    assert [(name, func) for name, _, func in sent] == [
        ("marketplace-waker", "marketplace.distribution:distribute_pending")
    ]


def test_wake_ups_asked_together_are_sent_together_and_the_last_one_is_never_missed(sent):
    asked_at = []
    for _ in range(40):
        jobs.wake_soon("marketplace.distribution:distribute_pending")
        asked_at.append(time.monotonic())
        time.sleep(0.001)
    assert jobs.settle_wakes()
    assert 1 <= len(sent) <= 10  # about 60 ms of asks, one wake-up per 20 ms at most
    # Work committed before an ask is seen by a wake-up that began after that ask.
    assert max(began for _, began, _ in sent) >= asked_at[-1]


def test_while_the_runs_are_busy_the_wake_ups_are_sent_further_apart(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # never reached
    monkeypatch.setattr(jobs, "WAKE_GAP_SECONDS", 0.01)
    monkeypatch.setattr(jobs, "BUSY_WAKE_GAP_SECONDS", 0.2)
    busy = iter([False, False, True, False])
    sent_at = []

    def record(func):
        sent_at.append(time.monotonic())
        return next(busy)

    monkeypatch.setattr(jobs, "wake", record)
    for _ in range(4):
        jobs.wake_soon("marketplace.distribution:distribute_pending")
        assert jobs.settle_wakes()
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert gaps[0] < 0.15 and gaps[1] < 0.15  # the runs were not busy: the short gap
    assert gaps[2] >= 0.2  # the third found them busy: the next waited the longer gap


def test_a_failed_wake_up_is_logged_and_the_next_one_is_still_sent(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    answers = iter([jobs.EnqueueFailed("Redis down"), None])
    sent = []

    def failing_once(func):
        answer = next(answers)
        if answer is not None:
            raise answer
        sent.append(func)

    monkeypatch.setattr(jobs, "wake", failing_once)
    jobs.wake_soon("marketplace.distribution:distribute_pending")
    assert jobs.settle_wakes()
    assert "left for the sweep" in caplog.text
    jobs.wake_soon("marketplace.distribution:distribute_pending")
    assert jobs.settle_wakes()
    assert sent == ["marketplace.distribution:distribute_pending"]


def test_a_forked_process_starts_a_waker_of_its_own(sent, monkeypatch):
    jobs.wake_soon("marketplace.distribution:distribute_pending")
    assert jobs.settle_wakes()
    parents = jobs._waker
    monkeypatch.setattr(jobs.os, "getpid", lambda: parents.pid + 1)  # as in a child
    jobs.wake_soon("marketplace.distribution:distribute_pending")
    assert jobs._waker is not parents
    assert jobs.settle_wakes()
    assert len(sent) == 2


def test_without_redis_the_wake_up_runs_its_work_at_once(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    ran = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, *args, **kwargs: ran.append(name))
    jobs.wake_soon("marketplace.distribution:distribute_pending")
    assert ran == ["marketplace.distribution:distribute_pending"]
