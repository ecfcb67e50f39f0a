"""What gunicorn and ``flask --app wsgi`` load: ``gunicorn wsgi:app``."""

from marketplace import create_app

app = create_app()
