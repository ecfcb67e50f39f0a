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


def register(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # Contact details must not stay in a shared cache or the browser's back history:
        # nothing is stored unless a view (a static file, the embed script) says so.
        headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
