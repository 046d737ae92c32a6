"""`{% status_badge obj %}`: the one way a job's or campaign's status is shown, on every page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Tones are the job statuses themselves (the live-progress script sets `badge <status>`), so a
# campaign's states borrow the tone of the job state that means the same thing to a reader.
TONES = {
    "done": "done",
    "failed": "failed",
    "running": "running",
    "queued": "queued",
    "cancelled": "cancelled",
    "open": "running",
    "closed": "done",
    "paused": "queued",
    "draft": "queued",
    "building": "running",
}


@register.simple_tag
def status_badge(obj: Any, element_id: str = "") -> SafeString:
    status = str(getattr(obj, "status", obj))
    display = getattr(obj, "get_status_display", None)
    label = str(display()) if callable(display) else status
    # The label is lower case, like the live script's; CSS capitalises both the same way.
    return format_html(
        '<span class="badge status {}" data-field="status"{}>{}</span>',
        TONES.get(status, "queued"),
        format_html(' id="{}"', element_id) if element_id else "",
        label.lower(),
    )
