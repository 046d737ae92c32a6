from __future__ import annotations

import io
import json

import pytest

from reports.ratings_file import RatingsFileError, ratings_read, ratings_to_text
from tests.factories import make_records, record


def _line(**overrides: object) -> str:
    data = record().contract_dict()
    data.update(overrides)
    return json.dumps(data)


def test_jsonl_written_by_the_export_reads_back_to_the_same_records() -> None:
    records = [*make_records(prompts=5), record(is_gold=True, gold_choice="a", comment="looks <b>off</b>")]
    assert ratings_read(stream=io.StringIO(ratings_to_text(records=records, fmt="jsonl"))) == records


def test_every_error_names_its_line_and_field_and_all_lines_are_checked() -> None:
    text = "\n".join(
        [
            _line(),
            "{not json",
            _line(choice="left"),
            "",
            _line(seconds=-1),
            json.dumps({k: v for k, v in record().contract_dict().items() if k != "rater"}),
            _line(created="yesterday", left="c"),
            "[1, 2]",
            _line(system_b="base"),
        ]
    )
    with pytest.raises(RatingsFileError) as caught:
        ratings_read(stream=io.StringIO(text))
    found = {(error.line, error.field) for error in caught.value.errors}
    assert found == {
        (2, "(line)"),
        (3, "choice"),
        (5, "seconds"),
        (6, "rater"),
        (7, "created"),
        (7, "left"),
        (8, "(line)"),
        (9, "system_b"),
    }
    assert "line 3: field 'choice'" in str(caught.value)


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(RatingsFileError, match="no ratings"):
        ratings_read(stream=io.StringIO("\n\n"))


def test_csv_rows_unblind_the_sides() -> None:
    text = ratings_to_text(
        records=[record(system_a="base", system_b="cand", system_on_left="b", choice="b")], fmt="csv"
    )
    header, row = text.strip().split("\n")
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert (
        values["left_system"],
        values["right_system"],
        values["chosen_system"],
        values["chosen_side"],
    ) == (
        "cand",
        "base",
        "cand",
        "left",
    )
