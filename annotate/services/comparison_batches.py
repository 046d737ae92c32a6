"""Writing a built campaign's comparisons in batches: COPY on PostgreSQL, bulk inserts elsewhere.

A million comparisons and their texts must not be held at once, nor sent as a million model
instances: rows are gathered a batch at a time and written with psycopg's `COPY ... FROM STDIN`
on PostgreSQL (ids taken from the table's sequence first, so the texts can name their comparison),
or through `comparisons_create` (Django's bulk_create) on SQLite. Both write what that service
writes: the same columns and the model's defaults for the rest.

Serving's tallies follow either way: PostgreSQL's insert trigger runs once per COPY over its
transition table, SQLite's once per row (annotate/migrations/0013_serving_counters.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import set_json_dumps

from annotate.models import Campaign, Comparison, ComparisonTexts
from annotate.services.comparisons import comparisons_create

BATCH_SIZE = 10_000
_BUILT = (
    "id",
    "campaign_id",
    "order_key",
    "prompt_id",
    "system_a_id",
    "system_b_id",
    "sample_a_id",
    "sample_b_id",
    "system_on_left",
    "turn",
    "needed",
)
_TEXT_COLUMNS = ("comparison_id", "text_a", "text_b", "history_a", "history_b")


class BuiltRow(NamedTuple):
    """One comparison as the build draws it, with its two texts and each system's earlier turns."""

    prompt_id: int
    turn: int
    system_a_id: int
    system_b_id: int
    sample_a_id: int
    sample_b_id: int
    system_on_left: str
    needed: int
    order_key: int
    text_a: str
    text_b: str
    history_a: list[str]
    history_b: list[str]


def _other_columns() -> tuple[list[str], tuple[Any, ...]]:
    """The columns the build does not set, and the model's default for each (taken 0, no gold ...)."""
    fields = [f for f in Comparison._meta.concrete_fields if f.column not in _BUILT]
    for f in fields:
        if f.has_default() and callable(f.default):
            # A per-row default (like the order key) would be drawn once for the whole batch here.
            raise RuntimeError(f"Comparison.{f.name} has a per-row default the bulk build does not draw")
    return [str(f.column) for f in fields], tuple(f.get_default() for f in fields)


def _history_dumps(history: Any) -> str:
    return "[]" if history == [] else json.dumps(history)


class ComparisonBatches:
    """Collects built rows and writes them `batch_size` at a time, each batch in a transaction of its own.

    The first `skip` rows added are dropped: a resumed build wrote them before. `on_batch(done)` runs
    inside each batch's transaction (the build job records its count there, so that count and rows
    commit together); `progress(done)` after it. `done` and `written` count the skipped rows too.
    """

    def __init__(
        self,
        *,
        campaign: Campaign,
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
        skip: int = 0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.campaign = campaign
        self.batch_size = batch_size or BATCH_SIZE
        self.progress = progress
        self.on_batch = on_batch
        self.rows: list[BuiltRow] = []
        self.skip = skip
        self.written = skip
        self.copy = connection.vendor == "postgresql"
        self._others, self._defaults = _other_columns()
        self._sequence: str | None = None
        self._type_names: dict[str, dict[str, str]] = {}

    def pass_over(self, n: int) -> None:
        """`n` rows the build did not even make, all among the first `skip`."""
        if n > self.skip:
            raise ValueError(f"{n} rows passed over, but only {self.skip} are left to skip")
        self.skip -= n

    def add(self, row: BuiltRow) -> None:
        if self.skip:
            self.skip -= 1
            return
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        with transaction.atomic():
            if self.copy:
                self._copy(self.rows)
            else:
                self._bulk_create(self.rows)
            self.written += len(self.rows)
            if self.on_batch is not None:
                self.on_batch(self.written)
        self.rows = []
        if self.progress is not None:
            self.progress(self.written)

    def _bulk_create(self, rows: list[BuiltRow]) -> None:
        comparisons_create(
            rows=[
                (
                    Comparison(
                        campaign=self.campaign,
                        prompt_id=r.prompt_id,
                        turn=r.turn,
                        system_a_id=r.system_a_id,
                        system_b_id=r.system_b_id,
                        sample_a_id=r.sample_a_id,
                        sample_b_id=r.sample_b_id,
                        system_on_left=r.system_on_left,
                        needed=r.needed,
                        order_key=r.order_key,
                    ),
                    r.text_a,
                    r.text_b,
                )
                for r in rows
            ],
            histories=[(r.history_a, r.history_b) for r in rows],
            batch_size=500,
        )

    def _types(self, cursor: Any, table: str, columns: tuple[str, ...]) -> list[str]:
        """The columns' type names, in order, for a binary COPY (read once per table)."""
        if table not in self._type_names:
            cursor.execute(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [table],
            )
            self._type_names[table] = dict(cursor.fetchall())
        return [self._type_names[table][c] for c in columns]

    def _copy(self, rows: list[BuiltRow]) -> None:
        comparison_table = Comparison._meta.db_table
        with connection.cursor() as cursor:
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [comparison_table])
                self._sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence, len(rows)])
            ids = sorted(pk for (pk,) in cursor.fetchall())  # ascending: pk order is build order
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            columns = ", ".join((*_BUILT, *self._others))
            campaign_id, defaults = self.campaign.pk, self._defaults
            # The queued writer sends from a thread of its own, so PostgreSQL takes in one batch's
            # rows while this thread is still formatting them. Binary: PostgreSQL parses no text
            # (about a tenth less of its time, measured at 100,000 comparisons).
            statement = f"COPY {comparison_table} ({columns}) FROM STDIN (FORMAT BINARY)"
            types = self._types(cursor, comparison_table, (*_BUILT, *self._others))
            # Written in order-key order: serving's pool index, led by that random key, then takes each
            # batch in one sweep instead of at random spots; the ids stay in the build's order. An
            # item's token is enciphered from its ids (annotate.rater_tokens), so neither order shows.
            by_key = sorted(zip(ids, rows, strict=True), key=lambda pair: pair[1].order_key)
            with raw.copy(statement, writer=QueuedLibpqWriter(raw)) as copy:
                copy.set_types(types)
                for pk, r in by_key:
                    copy.write_row(
                        (
                            pk,
                            campaign_id,
                            r.order_key,
                            r.prompt_id,
                            r.system_a_id,
                            r.system_b_id,
                            r.sample_a_id,
                            r.sample_b_id,
                            r.system_on_left,
                            r.turn,
                            r.needed,
                            *defaults,
                        )
                    )
            # Most answers have no earlier turns: their "[]" is not encoded afresh for every row (an
            # eighth of the build's Python time). Otherwise json.dumps, as Django's JSONField writes.
            set_json_dumps(_history_dumps, context=raw)
            texts_table = ComparisonTexts._meta.db_table
            statement = f"COPY {texts_table} ({', '.join(_TEXT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            types = self._types(cursor, texts_table, _TEXT_COLUMNS)
            with raw.copy(statement, writer=QueuedLibpqWriter(raw)) as copy:
                copy.set_types(types)
                for pk, r in zip(ids, rows, strict=True):
                    # The jsonb dumper writes each list with json.dumps, as Django's JSONField does.
                    copy.write_row((pk, r.text_a, r.text_b, r.history_a, r.history_b))
