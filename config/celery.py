"""The Celery app. Queues: `gpu` (generation, finetuning) and `default` (the rest).

Run a GPU worker with `celery -A config worker -Q gpu --concurrency 1 --prefetch-multiplier 1`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("usability")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
