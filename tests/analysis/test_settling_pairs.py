"""More than two systems on real ratings: pair uncertainty against the bootstrap, share-weighted by_pair blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.records import RatingRecord
from analysis.report import report_build
from analysis.settling import sequential_block
from analysis.stats import rankings
from analysis.stats import sequential as seq
from analysis.stats.pair_uncertainty import pair_uncertainty, win_cells
from analysis.stats.preference import bootstrap_unit_totals
from reports.ratings_file import ratings_read_path
from tests.factories import record

REAL = Path(__file__).resolve().parents[3] / "shared" / "peer-ratings" / "ae_multi_9systems.jsonl"


def real_records() -> list[RatingRecord]:
    if not REAL.exists():
        pytest.skip("../shared/peer-ratings/ae_multi_9systems.jsonl is absent")
    return ratings_read_path(path=REAL)


def outcomes(records: list[RatingRecord]) -> list[tuple[str, str, str]]:
    return [(r.system_a, r.system_b, {"a": "x", "b": "y"}.get(r.choice, "none")) for r in records]


def test_closed_form_uncertainty_matches_the_bootstrap_on_nine_real_systems() -> None:
    records = real_records()
    systems = list(dict.fromkeys(name for r in records for name in (r.system_a, r.system_b)))
    data = outcomes(records)
    figures = pair_uncertainty(systems, data)
    assert len(figures) == 36 and sum(f.ratings > 0 for f in figures.values()) == 9
    # The same fit resampled 1,000 times (each rating a unit): the spread of every score difference,
    # compared or only linked through others, is what the inverse Fisher information says.
    units = np.stack([win_cells(systems, [o]) for o in data]).astype(np.int64)
    boot = rankings.bradley_terry_fit(
        rankings.wins_from_cells(bootstrap_unit_totals(units, rounds=1000, seed=0), len(systems))
    )
    for (x, y), f in figures.items():
        spread = float(np.std(boot[:, systems.index(x)] - boot[:, systems.index(y)]))
        assert f.se_diff == pytest.approx(spread, rel=0.1), (x, y)


def test_every_pair_block_is_share_weighted_on_real_ratings() -> None:
    records = real_records()
    report = report_build(records=records, rounds=0)
    assert len(report["by_pair"]) == 36
    for row in report["by_pair"]:
        block = row["sequential"]
        assert {"method", "ci_low", "ci_high", "decided", "ratings", "by_cell"} <= set(block)
        assert (block["baseline"], block["candidate"]) == (row["baseline"], row["candidate"])
        # Only the pair's own ratings, the same figures as the pair's plain block counts.
        assert block["ratings"] == row["n"]
        again = sequential_block(records=records, baseline=row["baseline"], candidate=row["candidate"])
        assert (block["ci_low"], block["ci_high"]) == (again["ci_low"], again["ci_high"])
    assert "more than two systems" in report["methods"]["sequential"]
    assert "more than two systems" in seq.WEIGHTED_METHOD


def test_pair_blocks_weigh_cells_by_share_not_by_ratings() -> None:
    # base vs cand: cell "a" (10 % of the evaluation set) got 200 ratings, all won by cand; cell "b"
    # (90 %) 60, all lost. A third system makes it a many-system report.
    records = [record(prompt_id=f"a{i % 5}", category="a", choice="b") for i in range(200)]
    records += [record(prompt_id=f"b{i % 45}", category="b", choice="a", rater=f"r{i}") for i in range(60)]
    records += [
        record(prompt_id=f"b{i}", category="b", system_a="cand", system_b="third", choice="ab"[i % 2])
        for i in range(20)
    ]
    shares = {("a", "zero_shot"): 0.1, ("b", "zero_shot"): 0.9}
    report = report_build(
        records=records, rounds=0, cell_shares=shares, system_order=["base", "cand", "third"]
    )
    pair = next(r for r in report["by_pair"] if (r["baseline"], r["candidate"]) == ("base", "cand"))
    assert pair["preference_rate"] == pytest.approx(200 / 260)  # the plain, rating-weighted rate
    assert pair["sequential"]["preference_rate_weighted"] == pytest.approx(0.1)
    assert pair["sequential"]["decided"] == "baseline"
    assert report["sequential"]["preference_rate_weighted"] == pytest.approx(
        0.1
    )  # the top-level block agrees
    untouched = next(r for r in report["by_pair"] if (r["baseline"], r["candidate"]) == ("base", "third"))
    assert untouched["sequential"]["ratings"] == 0 and untouched["sequential"]["decided"] is None
