"""The tables every rating writes keep no index that another of theirs already serves.

Each index is one more entry to write for every rating, lease and counter update (the comparison's
counter update is never HOT: its columns are in the pool indexes' conditions), so a column's own
index is redundant where a full index or unique constraint of the table starts with that column.
"""

from __future__ import annotations

import pytest
from django.db import models

from annotate.models import Comparison, Lease, Rating

WRITTEN_BY_EVERY_RATING = (Rating, Lease, Comparison)


def _full_indexes(model: type[models.Model]) -> list[tuple[str, list[str]]]:
    """(name, columns) of the model's multi-column indexes and unique constraints without a condition."""
    meta = model._meta
    column = {f.name: str(f.column) for f in meta.concrete_fields}
    found = [(i.name, [column[f.lstrip("-")] for f in i.fields]) for i in meta.indexes if i.condition is None]
    found += [
        (c.name, [column[f] for f in c.fields])
        for c in meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.condition is None and c.fields
    ]
    return [(name, columns) for name, columns in found if len(columns) > 1]


@pytest.mark.parametrize("model", WRITTEN_BY_EVERY_RATING, ids=lambda m: m.__name__)
def test_no_column_of_a_table_every_rating_writes_has_an_index_another_index_already_serves(model):
    redundant = [
        f"{field.column} (served by {name})"
        for field in model._meta.concrete_fields
        if field.db_index and not field.primary_key and not field.unique
        for name, columns in _full_indexes(model)
        if columns[0] == field.column
    ]
    assert not redundant, redundant


def test_the_check_sees_the_indexes_it_compares_against():
    # Guards the test above against passing because it read no index at all.
    assert ("rating_once_per_rater", ["rater_id", "comparison_id"]) in _full_indexes(Rating)
    assert ("lease_comparison_until", ["comparison_id", "leased_until"]) in _full_indexes(Lease)
