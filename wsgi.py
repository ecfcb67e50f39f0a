"""What gunicorn and ``flask --app wsgi`` load: ``gunicorn wsgi:app``."""

from marketplace import create_app
from marketplace.process import freeze_startup_heap

app = create_app()
freeze_startup_heap()
