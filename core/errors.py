"""The error every app's services raise for a request they refuse (generation's, judging's, ...)."""

from __future__ import annotations


class RequestError(ValueError):
    """A bad request, phrased for the person who made it: pages show it and commands print it as is."""
