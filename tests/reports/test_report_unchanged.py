# mypy: disable-error-code="arg-type"
"""The report of the same data does not change when its machinery is made faster (issue 31).

tests/reports/data/report_golden.json holds the report of ``golden_records`` made before the report
was reworked for a million ratings (streamed records, stored style counts, numpy statistics).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from analysis.report import report_build
from analysis.stats.style import style_counts
from tests.reports.golden_report import GOLDEN_PATH, golden_records

ROOT = Path(__file__).resolve().parents[2]


def _reports(records: list) -> dict:
    two = [r for r in records if r.pair == {"base", "cand"}]
    return json.loads(
        json.dumps(
            {
                "three": report_build(records=records, system_order=["base", "cand", "third"], rounds=300),
                "two": report_build(records=two, system_order=["base", "cand"], rounds=300),
            }
        )
    )


def test_the_report_of_the_golden_records_is_the_one_made_before_the_rework() -> None:
    assert _reports(golden_records()) == json.loads((ROOT / GOLDEN_PATH).read_text())


def test_records_carrying_style_counts_instead_of_texts_give_the_same_report() -> None:
    slim = [
        replace(
            r,
            text_a=None,
            text_b=None,
            prompt_text=None,
            style_a=style_counts(r.text_a),
            style_b=style_counts(r.text_b),
        )
        for r in golden_records()
    ]
    assert _reports(slim) == json.loads((ROOT / GOLDEN_PATH).read_text())
