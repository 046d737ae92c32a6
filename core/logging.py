"""Logging filters: an expected refusal is one line in the log, not a traceback."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class RefusalsAsOneLine(logging.Filter):
    """Drop the traceback of a PermissionDenied that `django.request` logs for every 403.

    A rater opening a researcher page is a refusal the site made on purpose; the line
    "Forbidden (Permission denied): /path" says all there is to say.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
