"""Checks behind /healthz: does the database answer, does the broker answer."""

from __future__ import annotations

from django.db import connection


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy", with the reason shown
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"


def broker_ok(timeout: float = 2.0) -> tuple[bool, str]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"
