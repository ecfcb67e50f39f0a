"""What a posting API call pays besides its view: each hook Flask runs around it, timed
alone in the call's request context (microseconds, the best of 5 repeats).

    python bench/request_hooks.py [--number 20000]

Runs on an in-memory SQLite database; nothing else is needed. The answers are built
the same way for each hook, and that cost is printed first so that it can be taken
off: what is left is the hook's own.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per repeat")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.pop("REDIS_URL", None)
    from flask import Response, request

    from marketplace import create_app

    app = create_app()
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}

    def answer() -> Response:
        return Response("{}", status=201, mimetype="application/json")

    def session_round() -> None:
        interface = app.session_interface
        interface.save_session(app, interface.open_session(app, request), answer())

    timings = {"building an answer (in each line below)": answer}
    timings["session: open and save, no cookie"] = session_round
    for hook in app.before_request_funcs[None]:
        timings[f"before: {_name(hook)}"] = hook
    for hook in app.after_request_funcs[None]:
        timings[f"after: {_name(hook)}"] = lambda hook=hook: hook(answer())
    for hook in app.teardown_request_funcs[None]:
        timings[f"teardown: {_name(hook)}"] = lambda hook=hook: hook(None)

    with app.test_request_context("/api/v1/leads", method="POST", headers=headers, data=b"{}"):
        print(f"POST /api/v1/leads, {args.number} calls x 5, best, microseconds per call")
        for name, call in timings.items():
            best = min(timeit.repeat(call, number=args.number, repeat=5)) / args.number
            print(f"{best * 1e6:8.2f}  {name}")
    return 0


def _name(hook) -> str:
    function = getattr(hook, "func", hook)  # a functools.partial: Flask-Limiter's own
    return f"{function.__module__}.{function.__qualname__}"


if __name__ == "__main__":
    sys.exit(main())
