"""What a long-running process (a gunicorn web process, a ``marketplace worker``) does
once its application is built, before its first request or job."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Keep the objects of the start (modules, the app, its routes, the translations) out
    of the cyclic garbage collector's full collections from now on; returns how many.

    Each full collection walks every object the process holds, and a process built by
    ``create_app`` holds some 200,000: in a web process a full collection took 118 to 143
    ms, during which its requests waited (docs/benchmarks.md, "The garbage collector's
    full collections"). Those objects live as long as the process; once frozen, a full
    collection walks only what was made since, about a millisecond. The garbage of the
    start is collected first, so none is kept for ever."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
