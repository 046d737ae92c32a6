"""The one error of the generation app's services and selectors."""

from __future__ import annotations

from core.errors import RequestError


class GenerationError(RequestError):
    """A bad request, phrased for the person who made it (commands print it as is)."""
