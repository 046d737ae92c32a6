from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from analysis.columns import RatingColumns
from reports.ratings_file import ratings_to_text
from tests.factories import make_bare_campaign, make_records


@pytest.fixture
def ratings_path(tmp_path: Path) -> Path:
    path = tmp_path / "ratings.jsonl"
    path.write_text(
        ratings_to_text(records=make_records(prompts=20, per_item=2, with_texts=True), fmt="jsonl")
    )
    return path


def _run(*args: str) -> None:
    call_command("report", *args)


def test_json_export_is_the_contract_report(ratings_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    _run("--ratings", str(ratings_path), "--format", "json", "--out", str(out))
    report = json.loads(out.read_text())
    assert (report["baseline"], report["candidate"]) == ("base", "cand")
    assert report["overall"]["n"] == 40


def test_baseline_and_exclusions_change_the_report(ratings_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    _run(
        "--ratings",
        str(ratings_path),
        "--format",
        "json",
        "--out",
        str(out),
        "--baseline",
        "cand",
        "--exclude-rater",
        "r1",
        "--exclude-rater",
        "r2",
    )
    report = json.loads(out.read_text())
    assert report["baseline"] == "cand"
    assert [row["rater"] for row in report["raters"]] == ["r3"]


def test_csv_and_jsonl_have_one_row_per_rating(ratings_path: Path, tmp_path: Path) -> None:
    _run("--ratings", str(ratings_path), "--format", "csv", "--out", str(tmp_path / "r.csv"))
    _run("--ratings", str(ratings_path), "--format", "jsonl", "--out", str(tmp_path / "r.jsonl"))
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 40 and {"system_a", "system_b", "left", "left_system", "chosen_system"} <= set(
        rows[0]
    )
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 40


def test_html_export_is_one_file_that_opens_offline(ratings_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    _run("--ratings", str(ratings_path), "--format", "html", "--out", str(out))
    html = out.read_text()
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*https?://", html, re.IGNORECASE)
    assert "Plotly.newPlot" in html and "plotly.js v" in html
    for reference in ("Wilson", "Clopper", "Fleiss", "Krippendorff", "Cohen", "Bradley", "Efron"):
        assert reference in html
    assert 'id="methods"' in html


def test_dpo_export_pairs_chosen_and_rejected_for_decisive_votes_only(
    ratings_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dpo.jsonl"
    _run("--ratings", str(ratings_path), "--format", "dpo", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    records = make_records(prompts=20, per_item=2, with_texts=True)
    assert len(lines) == sum(r.choice in ("a", "b") for r in records)
    first = next(r for r in records if r.choice in ("a", "b"))
    winner = first.text_a if first.choice == "a" else first.text_b
    assert lines[0] == {
        "prompt": first.prompt_text,
        "chosen": winner,
        "rejected": ({first.text_a, first.text_b} - {winner}).pop(),
    }


def test_dpo_export_without_texts_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "bare.jsonl"
    path.write_text(ratings_to_text(records=make_records(prompts=3), fmt="jsonl"))
    with pytest.raises(CommandError, match="prompt_text"):
        _run("--ratings", str(path), "--format", "dpo", "--out", str(tmp_path / "dpo.jsonl"))
    assert not (tmp_path / "dpo.jsonl").exists()


def test_dpo_export_keeps_an_empty_response_it_knows(tmp_path: Path) -> None:
    from dataclasses import replace

    records = [replace(r, text_a="") for r in make_records(prompts=4, with_texts=True)]
    path = tmp_path / "empty.jsonl"
    path.write_text(ratings_to_text(records=records, fmt="jsonl"))
    out = tmp_path / "dpo.jsonl"
    _run("--ratings", str(path), "--format", "dpo", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == sum(r.choice in ("a", "b") for r in records)
    assert all("" in (line["chosen"], line["rejected"]) for line in lines)


def test_a_bad_ratings_file_fails_naming_line_and_field_and_writes_nothing(
    ratings_path: Path, tmp_path: Path
) -> None:
    lines = ratings_path.read_text().splitlines()
    lines[6] = lines[6].replace('"choice": "', '"choice": "x')
    ratings_path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "report.json"
    with pytest.raises(CommandError, match=r"line 7: field 'choice'"):
        _run("--ratings", str(ratings_path), "--format", "json", "--out", str(out))
    assert list(tmp_path.iterdir()) == [ratings_path]


def test_unknown_baseline_and_missing_file_are_one_line_errors(ratings_path: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown baseline"):
        _run("--ratings", str(ratings_path), "--format", "json", "--baseline", "nobody")
    with pytest.raises(CommandError, match="no such ratings file"):
        _run("--ratings", str(tmp_path / "missing.jsonl"), "--format", "json")


@pytest.mark.django_db
def test_campaign_source_uses_the_campaign_order_and_its_ratings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    campaign = make_bare_campaign(name="camp", systems=["cand", "base"])
    records = make_records(prompts=10, raters=("r1", "r9"))
    seen: dict[str, object] = {}

    def fake(**kwargs: object) -> RatingColumns:
        seen.update(kwargs)
        return RatingColumns.from_records(records)

    # The JSON report reads the ratings as columns, without texts (campaign_report_columns), once, and
    # leaves out what the options say.
    monkeypatch.setattr("reports.campaign_report.campaign_report_columns", fake)
    out = tmp_path / "c.json"
    _run(
        "--campaign", "camp", "--format", "json", "--out", str(out), "--exclude-rater", "r9", "--exclude-gold"
    )
    report = json.loads(out.read_text())
    assert report["baseline"] == "cand"
    assert seen["campaign"] == campaign and seen["include_excluded_raters"] is True
    assert [row["rater"] for row in report["raters"]] == ["r1"]
    assert report["summary"]["ratings"] == sum(r.rater == "r1" for r in records)
    with pytest.raises(CommandError, match="no campaign named"):
        _run("--campaign", "nope", "--format", "json")
