"""What a long-running process does once its app is built."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

from marketplace.process import freeze_startup_heap

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_process_freezes_the_heap_of_its_start(tmp_path):
    """gunicorn's ``wsgi:app``: the objects built at the start are out of the garbage
    collector's full collections before the first request."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'process.db'}",
        "SECRET_KEY": "test",
        "REDIS_URL": "",
    }
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(frozen) > 10_000


def test_the_garbage_of_the_start_is_collected_not_frozen():
    """A cycle left over from the start would be kept for ever once frozen."""

    class Cycle:
        pass

    collected = []
    garbage = Cycle()
    garbage.itself = garbage
    weakref.finalize(garbage, collected.append, True)
    del garbage
    try:
        freeze_startup_heap()
        assert collected == [True]
    finally:
        gc.unfreeze()
