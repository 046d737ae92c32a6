"""ORM statements compiled once per process and run again with new values (for hot paths).

Django builds and compiles a queryset's SQL on every call. For the rater's progress (one aggregate
over the campaign with a dozen filtered counts) that costs more Python than the database spends
running it, on every rating. A `Statement` keeps the ORM as the one source of the query: it runs
the build once with marker values, keeps the SQL the ORM sent and the places of the markers among
its parameters, and from then on sends that SQL with the real values in those places.

`QueryStatement` does the same for a model queryset's first row and makes the instance as the
ORM would (the next item, the rated item, the rater's campaign on the rating path). `WriteStatement`
records one UPDATE or INSERT (the lease and its counter on the rating path).

A marker must reach the SQL as a parameter, never folded into its text: recording refuses a build
whose SQL lacks one of its markers among the parameters, so a build that inlines a value fails
loudly instead of running with the marker's value for good. A `Statement`'s row comes back as
the database returns it (no Django converters), so it should select integers only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

# Values no real row holds: negative ids and instants in 1901. The ids stay within a 32-bit column's
# range: Django leaves a lookup with a value out of its column's range out of the SQL.
_INT_MARKER = -2_147_480_000
_TIME_MARKER = datetime(1901, 2, 3, 4, 5, 6, 0, tzinfo=UTC)
_STR_MARKER = "\x1fstatement-marker-"

# PostgreSQL plans a prepared statement anew at each run (a custom plan) while it estimates that
# cheaper than its generic plan. Planning costs more than running for some statements (`generic_plan`).
_GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"

Build = Callable[[Mapping[str, Any]], Callable[[], object]]


class StatementShapeError(RuntimeError):
    """A build's SQL does not carry each marker exactly where the caller's values go."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (index among the parameters, value name)
    columns: tuple[str, ...]
    # QueryStatement only: how a row becomes the model instance, as Django's ModelIterable does it.
    rows: _Rows | None = None


@dataclass(frozen=True)
class _Rows:
    compiler: Any
    model: type[Model]
    start: int
    end: int
    init_list: list[str]
    populators: list[Any]
    annotations: dict[str, int]
    # The select list's converters, found once (Django looks them up again on every results_iter).
    converters: dict[int, Any]


class _Recorded:
    """Markers, their binding, and the per-shape cache, shared by both kinds of statement."""

    def __init__(
        self,
        *,
        ints: tuple[str, ...],
        datetimes: tuple[str, ...],
        strs: tuple[str, ...] = (),
        generic_plan: bool = False,
    ) -> None:
        self._generic_plan = generic_plan
        self._markers: dict[str, Any] = {name: _INT_MARKER + i for i, name in enumerate(ints)}
        self._markers |= {name: _TIME_MARKER + timedelta(seconds=i) for i, name in enumerate(datetimes)}
        self._markers |= {name: f"{_STR_MARKER}{i}" for i, name in enumerate(strs)}
        self._kinds = {name: "int" for name in ints} | {name: "datetime" for name in datetimes}
        self._kinds |= {name: "str" for name in strs}
        self._cache: dict[tuple[str, Hashable], _Compiled] = {}
        self._lock = threading.Lock()

    def _run(
        self, shape: Hashable, using: str, values: dict[str, Any], *, fetch: bool = True
    ) -> tuple[_Compiled, Any]:
        """Execute the compiled statement for these values; returns it with its first row (or None),
        or with the number of rows it changed when not `fetch`."""
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
        generic = self._generic_plan and connection.vendor == "postgresql"
        # SET LOCAL lasts to the end of the transaction: outside one, open one for it.
        within = transaction.atomic(using=using, savepoint=False) if generic else nullcontext()
        with within, connection.cursor() as cursor:
            if generic:
                cursor.execute(_GENERIC_PLAN)
            cursor.execute(compiled.sql, params)
            return compiled, cursor.fetchone() if fetch else cursor.rowcount

    def _record(self, using: str) -> _Compiled:
        raise NotImplementedError

    def _adapt(self, connection: Any, name: str, value: Any) -> Any:
        kind = self._kinds[name]
        if kind == "datetime":
            return connection.ops.adapt_datetimefield_value(value)
        return str(value) if kind == "str" else int(value)

    def _slots(self, connection: Any, params: tuple[Any, ...]) -> tuple[tuple[int, str], ...]:
        adapted = {self._adapt(connection, name, marker): name for name, marker in self._markers.items()}
        slots = tuple((i, adapted[p]) for i, p in enumerate(params) if _hashable(p) and p in adapted)
        missing = set(self._markers) - {name for _, name in slots}
        if missing:
            raise StatementShapeError(f"markers {sorted(missing)} are not parameters of the SQL")
        return slots


class Statement(_Recorded):
    """One read statement, built by `build(markers)`, run as `row(shape, **values)`.

    `build` receives a mapping of value names to marker values (ints for `ints`, aware datetimes
    for `datetimes`, strings for `strs` in a QueryStatement) and returns a callable that runs the statement through the ORM once. `shape`
    names everything else the SQL depends on (the database alias is added): builds that differ in
    anything but the values must use different shapes.

    With `generic_plan`, PostgreSQL runs the statement on its generic plan, made once per connection
    (`SET LOCAL plan_cache_mode`, one statement more, which holds to the end of the transaction).
    For a statement of many subqueries over parameters whose values change the estimates (a time,
    a rater), PostgreSQL otherwise judges each value's own plan cheaper than the generic one and
    plans it at every run, which can cost several times the run itself.
    """

    def __init__(
        self,
        build: Build,
        *,
        ints: tuple[str, ...] = (),
        datetimes: tuple[str, ...] = (),
        generic_plan: bool = False,
    ) -> None:
        super().__init__(ints=ints, datetimes=datetimes, generic_plan=generic_plan)
        self._build = build

    def row(self, shape: Hashable, *, using: str = "default", **values: Any) -> dict[str, Any]:
        """The statement's one row, as {column: value}, for these values."""
        compiled, got = self._run(shape, using, values)
        if got is None:
            raise StatementShapeError("the statement returned no row")
        return dict(zip(compiled.columns, got, strict=True))

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
        return _Compiled(sql=sql, params=params, slots=self._slots(connection, params), columns=columns)


class QueryStatement(_Recorded):
    """A model queryset compiled once per shape: `first(shape, **values)` is its `.first()` for these values.

    `build(markers)` returns the ordered queryset. The instance is made as Django's ModelIterable
    makes it (`select_related` objects and annotations included); prefetching and known related
    objects are refused, as they would be left out.
    """

    def __init__(
        self, build: Callable[[Mapping[str, Any]], QuerySet[Any]], *, ints: tuple[str, ...] = (),
        datetimes: tuple[str, ...] = (), strs: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        super().__init__(ints=ints, datetimes=datetimes, strs=strs)
        self._build_qs = build

    def first(self, shape: Hashable, *, using: str = "default", **values: Any) -> Any:
        """The first instance for these values, or None."""
        compiled, got = self._run(shape, using, values)
        if got is None:
            return None
        rows = compiled.rows
        assert rows is not None
        compiler = rows.compiler
        if compiler.has_extra_select:
            got = got[: compiler.col_count]
        row = next(iter(compiler.apply_converters([got], rows.converters))) if rows.converters else got
        instance = rows.model.from_db(using, rows.init_list, row[rows.start : rows.end])
        for populator in rows.populators:
            populator.populate(row, instance)
        for name, position in rows.annotations.items():
            setattr(instance, name, row[position])
        return instance

    def _record(self, using: str) -> _Compiled:
        qs = self._build_qs(dict(self._markers))
        plain = getattr(qs, "_iterable_class", None) is ModelIterable
        if (
            getattr(qs, "_prefetch_related_lookups", ())
            or getattr(qs, "_known_related_objects", {})
            or not plain
        ):
            raise StatementShapeError("only plain model querysets (no prefetching, no values()) are compiled")
        if not qs.ordered:
            raise StatementShapeError("the queryset must be ordered, as first() needs it")
        # The compiler is kept for its select list and converters, which only read settings-derived
        # state of the connection it was made on (its time zone, its operations): a thread whose
        # connection differs can use it, while the statement itself runs on the caller's own.
        compiler = qs[:1].query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = tuple(params)
        info = compiler.klass_info
        start, end = info["select_fields"][0], info["select_fields"][-1] + 1
        rows = _Rows(
            compiler=compiler,
            model=info["model"],
            start=start,
            end=end,
            init_list=[column[0].target.attname for column in compiler.select[start:end]],
            # (The stubs describe a later Django, which added an argument.)
            populators=get_related_populators(info, compiler.select, using),  # type: ignore[call-arg]
            annotations=dict(compiler.annotation_col_map or {}),
            converters=compiler.get_converters(
                [column[0] for column in compiler.select[: compiler.col_count]]
            ),
        )
        slots = self._slots(connections[using], params)
        return _Compiled(sql=sql, params=params, slots=slots, columns=(), rows=rows)


class WriteStatement(_Recorded):
    """One UPDATE or INSERT, built by `build(markers)` (a callable that runs it through the ORM), run
    as `execute(shape, **values)`, which returns the number of rows it changed.

    Recording runs the build once with the marker values inside a savepoint that is rolled back, so
    it leaves nothing behind even where it would insert (a foreign key checked at commit included).
    A statement with RETURNING is run without reading what it returns.

    With `chain`, the build may run several writes, which PostgreSQL then runs as one statement
    (`WITH w0 AS (first), ... last`): one round trip instead of several, all seeing one snapshot, so
    the writes must not read what another of them writes. Other databases refuse a chained build.
    """

    def __init__(
        self,
        build: Build,
        *,
        ints: tuple[str, ...] = (),
        datetimes: tuple[str, ...] = (),
        chain: bool = False,
    ) -> None:
        super().__init__(ints=ints, datetimes=datetimes)
        self._build = build
        self._chain = chain

    def execute(self, shape: Hashable, *, using: str = "default", **values: Any) -> int:
        _compiled, changed = self._run(shape, using, values, fetch=False)
        return int(changed)

    def _record(self, using: str) -> _Compiled:
        connection = connections[using]
        seen: list[tuple[str, tuple[Any, ...]]] = []

        def capture(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
            seen.append((sql, tuple(params or ())))
            return execute(sql, params, many, context)

        run = self._build(dict(self._markers))
        with transaction.atomic(using=using):
            with connection.execute_wrapper(capture):
                run()
            transaction.set_rollback(True, using=using)
        writes = [
            (sql, params)
            for sql, params in seen
            if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))
        ]
        if self._chain and connection.vendor == "postgresql" and len(writes) > 1:
            *first, (sql, params) = writes
            ctes = ", ".join(f"w{i} AS ({each})" for i, (each, _) in enumerate(first))
            sql = f"WITH {ctes} {sql}"
            params = tuple(p for _, each_params in first for p in each_params) + params
            writes = [(sql, params)]
        if len(writes) != 1:
            raise StatementShapeError(f"the build ran {len(writes)} statements, not one")
        sql, params = writes[0]
        return _Compiled(sql=sql, params=params, slots=self._slots(connection, params), columns=())


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
