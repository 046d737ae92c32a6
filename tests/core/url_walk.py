"""Every routed URL of the project with sample arguments, for permission sweeps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE = {"int": "1", "str": "sample", "slug": "sample", "uuid": str(uuid.UUID(int=1)), "path": "sample"}


def _fill(route: str) -> str:
    import re

    def repl(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return SAMPLE.get(converter, "sample")

    return re.sub(r"<(?:(\w+):)?\w+>", repl, route)


def walk(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """Yield (qualified url name, path) for every plain (non-regex) route."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns == "admin":
                continue  # the admin has its own staff login
            yield from walk(entry.url_patterns, prefix + _fill(route), ns)
        elif isinstance(entry, URLPattern):
            if route.startswith("^"):
                continue
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or route)
            yield name, "/" + prefix + _fill(route)
