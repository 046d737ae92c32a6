"""ORM statements compiled once per process and run again with new values (for hot paths).

Django builds and compiles a queryset's SQL on every call. For the rater's progress (one aggregate
over the campaign with a dozen filtered counts) that costs more Python than the database spends
running it, on every rating. A `Statement` keeps the ORM as the one source of the query: it runs
the build once with marker values, keeps the SQL the ORM sent and the places of the markers among
its parameters, and from then on sends that SQL with the real values in those places.

A marker must reach the SQL as a parameter, never folded into its text: recording refuses a build
whose SQL lacks one of its markers among the parameters, so a build that inlines a value fails
loudly instead of running with the marker's value for good. Results come back as the database returns them (no Django
converters), so a statement should select integers and nullable integers only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections

# Values no real row holds: negative ids and instants in 1901. The ids stay within a 32-bit column's
# range: Django leaves a lookup with a value out of its column's range out of the SQL.
_INT_MARKER = -2_147_480_000
_TIME_MARKER = datetime(1901, 2, 3, 4, 5, 6, 0, tzinfo=UTC)

Build = Callable[[Mapping[str, Any]], Callable[[], object]]


class StatementShapeError(RuntimeError):
    """A build's SQL does not carry each marker exactly where the caller's values go."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (index among the parameters, value name)
    columns: tuple[str, ...]


class Statement:
    """One read statement, built by `build(markers)`, run as `row(shape, **values)`.

    `build` receives a mapping of value names to marker values (ints for `ints`, aware datetimes
    for `datetimes`) and returns a callable that runs the statement through the ORM once. `shape`
    names everything else the SQL depends on (the database alias is added): builds that differ in
    anything but the values must use different shapes.
    """

    def __init__(self, build: Build, *, ints: tuple[str, ...] = (), datetimes: tuple[str, ...] = ()) -> None:
        self._build = build
        self._markers: dict[str, Any] = {name: _INT_MARKER + i for i, name in enumerate(ints)}
        self._markers |= {name: _TIME_MARKER + timedelta(seconds=i) for i, name in enumerate(datetimes)}
        self._kinds = {name: "int" for name in ints} | {name: "datetime" for name in datetimes}
        self._cache: dict[tuple[str, Hashable], _Compiled] = {}
        self._lock = threading.Lock()

    def row(self, shape: Hashable, *, using: str = "default", **values: Any) -> dict[str, Any]:
        """The statement's one row, as {column: value}, for these values."""
        if values.keys() != self._markers.keys():
            raise TypeError(f"values for {sorted(self._markers)} are needed, got {sorted(values)}")
        key = (using, shape)
        compiled = self._cache.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._cache.get(key) or self._record(using)
                self._cache[key] = compiled
        connection = connections[using]
        params = list(compiled.params)
        for index, name in compiled.slots:
            params[index] = self._adapt(connection, name, values[name])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            got = cursor.fetchone()
        if got is None:
            raise StatementShapeError("the statement returned no row")
        return dict(zip(compiled.columns, got, strict=True))

    def _adapt(self, connection: Any, name: str, value: Any) -> Any:
        if self._kinds[name] == "datetime":
            return connection.ops.adapt_datetimefield_value(value)
        return int(value)

    def _record(self, using: str) -> _Compiled:
        connection = connections[using]
        seen: list[tuple[str, tuple[Any, ...], tuple[str, ...]]] = []

        def capture(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
            result = execute(sql, params, many, context)
            description = context["cursor"].description or ()
            seen.append((sql, tuple(params or ()), tuple(column[0] for column in description)))
            return result

        run = self._build(dict(self._markers))
        with connection.execute_wrapper(capture):
            run()
        if len(seen) != 1:
            raise StatementShapeError(f"the build ran {len(seen)} statements, not one")
        sql, params, columns = seen[0]
        adapted = {self._adapt(connection, name, marker): name for name, marker in self._markers.items()}
        slots = tuple((i, adapted[p]) for i, p in enumerate(params) if _hashable(p) and p in adapted)
        missing = set(self._markers) - {name for _, name in slots}
        if missing:
            raise StatementShapeError(f"markers {sorted(missing)} are not parameters of the SQL")
        return _Compiled(sql=sql, params=params, slots=slots, columns=columns)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
