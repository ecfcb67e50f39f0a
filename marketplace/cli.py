"""The ``marketplace`` command: demo, worker, create-admin, and Flask-Migrate's db."""

from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from marketplace import accounts, demo, jobs


def register(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(run_periodic_command)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and stop.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create or upgrade the database, seed the demo data, and serve the site."""
    app = current_app._get_current_object()
    upgrade()
    summary = demo.seed()
    click.echo(demo.describe(summary, app.config["SQLALCHEMY_DATABASE_URI"]))
    if no_serve:
        return
    # app.run() refuses to start under the flask CLI; the development server it wraps does not.
    from werkzeug.serving import run_simple

    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker with its scheduler, in the app context (needs REDIS_URL)."""
    if not current_app.config["REDIS_URL"]:
        raise click.ClickException("REDIS_URL is not set: without it jobs run inline.")
    jobs.run_worker(burst=burst)


@click.command("run-periodic")
@with_appcontext
def run_periodic_command() -> None:
    """Run the periodic jobs once, now (for a deployment without Redis: call it from cron)."""
    jobs.run_periodic_jobs()
    click.echo("Periodic jobs done.")


@click.command("create-admin")
@click.argument("email")
@click.option("--password", help="Asked for when not given; '-' generates one.")
@with_appcontext
def create_admin_command(email: str, password: str | None) -> None:
    """Create a platform admin (or make an existing account one)."""
    if password is None:
        password = click.prompt(
            "Password (empty to generate one)",
            hide_input=True,
            confirmation_prompt=True,
            default="",
            show_default=False,
        )
    generated = password in ("", "-")
    if generated:
        password = secrets.token_urlsafe(12)
    if len(password) < current_app.config["PASSWORD_MIN_LENGTH"]:
        raise click.ClickException(
            f"The password needs at least {current_app.config['PASSWORD_MIN_LENGTH']} characters."
        )
    user = accounts.create_admin(email, password, current_app.config["PASSWORD_HASH_METHOD"])
    click.echo(f"Admin {user.email} is ready.")
    if generated:
        click.echo(f"Generated password: {password}")


def main() -> None:
    from marketplace import create_app

    FlaskGroup(create_app=create_app, help="The lead marketplace.").main()
