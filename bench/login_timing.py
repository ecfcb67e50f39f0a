"""Does a login attempt take the same time for a known and an unknown e-mail?

Runs the real login form (werkzeug's default scrypt hashing, as in production) on a
fresh SQLite database and prints the median time of failed logins for an account that
exists and for one that does not. They should be about equal: otherwise the time tells
an attacker which accounts exist.

    python bench/login_timing.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds

    from flask_migrate import upgrade

    from marketplace import accounts, create_app
    from marketplace.extensions import db
    from marketplace.models import OrganizationKind

    folder = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "INSTANCE_PATH": str(folder),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'login.db'}",
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        upgrade()
        accounts.sign_up(
            kind=OrganizationKind.BUYER,
            company_name="Timing SA",
            full_name="Known Person",
            email="known@example.test",
            password="the-right-password",
            password_method=app.config["PASSWORD_HASH_METHOD"],
        )
        db.session.remove()

    http = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', http.get("/login").text)

    def failed_login(email: str) -> float:
        started = time.perf_counter()
        answer = http.post(
            "/login",
            data={"email": email, "password": "a-wrong-password", "csrf_token": token.group(1)},
        )
        assert answer.status_code == 200, answer.status_code
        return (time.perf_counter() - started) * 1000

    failed_login("warm-up@example.test")
    known, unknown = [], []
    for _ in range(rounds):
        known.append(failed_login("known@example.test"))
        unknown.append(failed_login("nobody@example.test"))
    print(f"hash method: {app.config['PASSWORD_HASH_METHOD']}, {rounds} rounds each")
    print(f"failed login, known e-mail:   median {statistics.median(known):6.1f} ms")
    print(f"failed login, unknown e-mail: median {statistics.median(unknown):6.1f} ms")


if __name__ == "__main__":
    main()
