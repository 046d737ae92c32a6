"""Checks behind /healthz: does the database answer, does the broker answer."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import connection
from kombu import Connection


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy", with the reason shown
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"


def broker_ok(timeout: int = 2) -> tuple[bool, str]:
    url: str = settings.CELERY_BROKER_URL
    options: dict[str, object] = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if url.startswith("filesystem://"):
        # kombu's filesystem transport "connects" whatever the folder; check the folder itself.
        folder = Path(str(options.get("data_folder_in", "")))
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return False, f"broker folder {folder} is missing or not writable"
        return True, "ok"
    try:
        with Connection(url, transport_options=options, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"
