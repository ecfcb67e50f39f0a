"""Security headers on every answer.

Flask-Talisman is dormant (field-notes.md); this hook is all we need. Pages
that may be framed (the capture form) set their own frame-ancestors first.
"""

from __future__ import annotations

from flask import Flask, request


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """Everything from this site only; who may frame the page is the one variable."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors}"
    )


CONTENT_SECURITY_POLICY = content_security_policy()


# Set on every answer unless its view set its own.
DEFAULT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    # Contact details must not stay in a shared cache or the browser's back history:
    # nothing is stored unless a view (a static file, the embed script) says so.
    ("Cache-Control", "no-store"),
)


def register(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        # The names present, read once: a lookup per header scanned them all each time,
        # 14 µs a call where this takes 7 (bench/request_hooks.py).
        present = {name.lower() for name, _value in headers}
        missing = [(name, value) for name, value in DEFAULT_HEADERS if name.lower() not in present]
        policy = headers.get("Content-Security-Policy")
        if policy is None:
            policy = CONTENT_SECURITY_POLICY
            missing.append(("Content-Security-Policy", policy))
        if "frame-ancestors 'none'" in policy and "x-frame-options" not in present:
            missing.append(("X-Frame-Options", "DENY"))
        if request.is_secure and "strict-transport-security" not in present:
            missing.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
        headers.extend(missing)
        return response
