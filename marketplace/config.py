"""Settings read from the environment, with defaults that work on a laptop.

This is the only module that reads the environment. Everything else reads
``current_app.config``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE_WORDS


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/.

    A key generated per start would log every user out at each restart, so the
    development key is kept on disk (never committed: instance/ is ignored).
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` form and drive it with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping from the environment."""
    instance = Path(instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'marketplace.db'}"
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # Idle connections are pinged before use (db_pool.py), busy ones are not.
        "DB_PING_AFTER_SECONDS": float(os.environ.get("MARKETPLACE_DB_PING_AFTER_SECONDS", "10")),
        "REDIS_URL": redis_url,
        "RQ_QUEUE": os.environ.get("MARKETPLACE_QUEUE", "marketplace"),
        "REQUIRE_SERVICES": env_flag("MARKETPLACE_REQUIRE_SERVICES"),
        "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        "SMTP_URL": os.environ.get("SMTP_URL") or None,
        # Buyers' webhooks may not reach our own network unless this is set (tests).
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": env_flag("WEBHOOK_ALLOW_PRIVATE_TARGETS"),
        # Absolute links written into consent texts and e-mails.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Where people write to exercise their GDPR rights (shown on /privacy).
        "PRIVACY_CONTACT": os.environ.get("PRIVACY_CONTACT", "privacy@localhost"),
        # Leads' personal data is blanked this long after their last activity.
        "PRIVACY_RETENTION_MONTHS": int(os.environ.get("PRIVACY_RETENTION_MONTHS", "36")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Marketplace <no-reply@localhost>"),
        # Rate limits share Redis between gunicorn workers; in memory on a laptop.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down must never cost a lead or a login: the limits are then counted in
        # this process (the same limits, per process) until Redis answers again, and
        # any other error of the limiter is logged and the request let through.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        "RATELIMIT_ENABLED": env_flag("RATELIMIT_ENABLED", default=True),
        # The X-RateLimit headers cost a second Redis read on every request.
        "RATELIMIT_HEADERS_ENABLED": False,
        # Form posts per visitor address, and per magnet whoever posts (a botnet).
        "CAPTURE_IP_RATE_LIMIT": "20 per minute;200 per hour",
        "CAPTURE_MAGNET_RATE_LIMIT": "600 per minute",
        # Failed logins per account, from any address (the per-address limit is apart).
        "LOGIN_ACCOUNT_RATE_LIMIT": "10 per 15 minutes",
        # Per API key, for posting leads.
        "API_RATE_LIMIT": os.environ.get("MARKETPLACE_API_RATE_LIMIT", "1200 per minute"),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env_flag("SESSION_COOKIE_SECURE"),
        # How many reverse proxies stand in front of the web processes: the client's
        # address is read from that many X-Forwarded-For hops (werkzeug's ProxyFix),
        # never from a header any client can set. 0: no proxy, the socket's peer.
        "TRUSTED_PROXIES": int(os.environ.get("MARKETPLACE_TRUSTED_PROXIES", "0")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # werkzeug's default (scrypt); tests set a cheap method to stay fast.
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "PASSWORD_MIN_LENGTH": 10,
        # Trade default (field-notes.md): the same person is not resold in a sector
        # within 30 days, and a lead is on sale in the catalogue while fresh.
        "DEDUPE_WINDOW_DAYS": 30,
        # How far back the same person's earlier leads count as intent, and how far
        # back a returning person's unsold or returned lead is recycled: six months,
        # the longest timeframe a form offers, a B2B purchase's usual cycle
        # (docs/scoring.md). Longer than the dedupe window, so that a recycled lead's
        # earlier lead always counts as an earlier visit.
        "EARLIER_VISITS_DAYS": 180,
        "LEAD_FRESHNESS_DAYS": 30,
        "RETURN_WINDOW_DAYS": 7,
        # A buyer may change its rating of a lead this long after the sale.
        "RATING_WINDOW_DAYS": 30,
        # A lead posted through the API was consented to at most this long ago (a
        # publisher's batch upload included): an older date is a mistake, not a lead.
        "CONSENT_MAX_AGE_DAYS": 90,
        # How long a process may reuse what captures read (marketplace/snapshots.py).
        "SNAPSHOT_SECONDS": float(os.environ.get("MARKETPLACE_SNAPSHOT_SECONDS", "10")),
        # Campaign settings for matching: rechecked at each sale (docs/matching.md), so
        # only a new campaign waits this long for its first lead.
        "MATCHING_SNAPSHOT_SECONDS": float(
            os.environ.get("MARKETPLACE_MATCHING_SNAPSHOT_SECONDS", "60")
        ),
        # A worker's run over the pending leads that runs out of them waits this long
        # for the next capture before it ends (one run for a stream of leads, not a
        # queued job for each), under Redis's 5 s socket timeout; 0 ends it at once.
        "DISTRIBUTION_LINGER_SECONDS": min(
            float(os.environ.get("MARKETPLACE_DISTRIBUTION_LINGER_SECONDS", "1")), 4.0
        ),
        # A run then ends after this long at most, and queues the next one behind the
        # queue's other jobs (sweeps, mails), which never wait longer than this.
        "DISTRIBUTION_RUN_SECONDS": float(
            os.environ.get("MARKETPLACE_DISTRIBUTION_RUN_SECONDS", "5")
        ),
        # A worker sends the deliveries of the leads it sold at once, from this many
        # threads (marketplace/delivery_threads.py); 0 queues a job per delivery instead.
        "DELIVERY_THREADS": int(os.environ.get("MARKETPLACE_DELIVERY_THREADS", "8")),
        # Deliveries waiting for a thread beyond this are left to the periodic sweep.
        "DELIVERY_THREAD_BACKLOG": 500,
        # A person needs a few seconds to read and fill a form; a script does not.
        "CAPTURE_MIN_FILL_SECONDS": 2,
        "DEFAULT_REVENUE_SHARE_BPS": 5000,
        # New publishers' leads are kept, not sold, until an admin approves them
        # (docs/admin.md); 0 approves them at sign-up.
        "APPROVE_NEW_PUBLISHERS": os.environ.get("MARKETPLACE_APPROVE_NEW_PUBLISHERS", "1") != "0",
        "DEFAULT_CURRENCY": "EUR",
    }
