"""Entry point of the Celery `worker` and `beat` processes: `celery -A backend.worker worker`."""
from .jobs import celery_app

app = celery_app()
