"""The ratings downloads (csv, jsonl, parquet) stream: records read in chunks, bytes sent as written, and
the same bytes as today's export of the same campaign and filters."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotate.assignment import item_next, rating_submit
from annotate.models import Campaign, Comparison
from annotate.recruiting import links, steps
from annotate.services import campaign_create, campaign_status_set, comparison_gold_mark
from eval_sets.services import eval_set_import
from generation.outputs_import import outputs_import
from reports.campaign_records import campaign_rating_record_stream, campaign_rating_records
from reports.campaign_report import campaign_report_source
from reports.exports import report_export
from reports.hf_dataset import COLUMNS, DATA_FILE, hf_parquet_chunks
from tests.factories import make_records

pytestmark = pytest.mark.django_db

# A comment a spreadsheet would run, one with a quote and a line break, and one in another script.
COMMENTS = ('=HYPERLINK("http://x")', 'said "no",\nthen left', "trop verbeux, ça", "")


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _rich_campaign(make_rater) -> Campaign:  # type: ignore[no-untyped-def]
    """Two-turn conversations, a gold check, comments, a crowd rater with platform ids, two plain raters."""
    questions: list[dict[str, Any]] = [
        {"question_id": 1, "category": "writing", "turns": ["Write a poem.", "-Now make it rhyme."]},
        {"question_id": 2, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]},
        {"question_id": 3, "category": "math", "turns": ["@everyone: what is 5+5?"]},
    ]
    eval_set = eval_set_import(data=_jsonl(questions), filename="mt.jsonl", name="rich").eval_set
    for name in ("alpha", "beta"):
        answers = [
            {
                "question_id": q["question_id"],
                "choices": [
                    {"turns": [f"+{name} {q['question_id']}.{t}" for t, _ in enumerate(q["turns"], 1)]}
                ],
            }
            for q in questions
        ]
        outputs_import(model_name=name, eval_set=eval_set, data=_jsonl(answers), filename=f"{name}.jsonl")
    raters = [make_rater("plain-1"), make_rater("plain-2")]
    campaign = campaign_create(
        name="rich", eval_set=eval_set, systems=["alpha", "beta"], raters=raters, ratings_per_comparison=3
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    recruiting = steps.recruiting_of(campaign)
    recruiting.accept_external = True
    recruiting.save()
    crowd = links.external_enter(
        entry_token=recruiting.entry_token,
        query={"PROLIFIC_PID": "pid1", "STUDY_ID": "s9", "SESSION_ID": "x7"},
    ).user
    steps.enrollment_advance(campaign=campaign, rater=crowd)
    for number, rater in enumerate([*raters, crowd]):
        while (item := item_next(campaign=campaign, rater=rater)) is not None:
            comment = COMMENTS[(number + item.pk) % len(COMMENTS)]
            side = ("left", "right", "tie", "both_bad")[(number + item.pk) % 4]
            rating_submit(
                campaign=campaign, rater=rater, token=item.token, side=side, comment=comment, seconds=2.5
            )
    gold = Comparison.objects.filter(campaign=campaign, turn=1).order_by("pk").first()
    assert gold is not None
    comparison_gold_mark(comparison=gold, answer="a")
    return campaign


def _today(campaign: Campaign, fmt: str, **filters: object) -> bytes:
    source = campaign_report_source(campaign=campaign, **filters)  # type: ignore[arg-type]
    return report_export(source=source, fmt=fmt).encode()


def _download(client: Client, campaign: Campaign, **query: str) -> tuple[bytes, Any]:
    response = client.get(reverse("reports:download", args=[campaign.pk]), query)
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content), response  # type: ignore[attr-defined,arg-type]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_streamed_download_is_byte_for_byte_todays_export_with_and_without_filters(
    researcher_client: Client, make_rater, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    campaign = _rich_campaign(make_rater)
    body, response = _download(researcher_client, campaign, format=fmt)
    assert body == _today(campaign, fmt)
    assert response["Content-Disposition"] == f'attachment; filename="rich-report.{fmt}"'  # type: ignore[index]
    text = body.decode()
    # What the comparison must cover is in the file: escapes, gold, comments, later turns, crowd ids.
    if fmt == "csv":
        assert (
            '"\'=HYPERLINK(""http://x"")"' in text
            and "pid1,s9,x7" in text
            and "'-Now make it rhyme." not in text
        )
        assert ",True,a," in text and '"said ""no"",\nthen left"' in text
    else:
        lines = [json.loads(line) for line in text.splitlines()]
        assert {line["comment"] for line in lines} == set(COMMENTS)
        assert any(line.get("turn") == 2 and line["earlier_turns"] for line in lines)
        assert any(line["is_gold"] and line["gold_choice"] == "a" for line in lines)
        assert {line.get("external_id") for line in lines} == {None, "pid1"}
    filtered, _ = _download(
        researcher_client, campaign, format=fmt, exclude_rater="plain-2", exclude_gold="1"
    )
    assert filtered == _today(campaign, fmt, exclude_raters=["plain-2"], exclude_gold=True)
    assert len(filtered) < len(body)


def test_the_record_stream_reads_in_chunks_what_the_list_holds(make_rater) -> None:  # type: ignore[no-untyped-def]
    campaign = _rich_campaign(make_rater)
    for filters in (
        {},
        {"exclude_raters": ["plain-1"]},
        {"exclude_gold": True},
        {"include_excluded_raters": True},
    ):
        listed = campaign_rating_records(campaign=campaign, **filters)  # type: ignore[arg-type]
        assert list(campaign_rating_record_stream(campaign=campaign, chunk_size=2, **filters)) == listed  # type: ignore[arg-type]
        assert listed


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_report_command_streams_the_same_bytes_to_a_file_and_to_stdout(
    tmp_path: Path, make_rater, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:  # type: ignore[no-untyped-def]
    campaign = _rich_campaign(make_rater)
    out = tmp_path / f"ratings.{fmt}"
    call_command("report", campaign="rich", format=fmt, out=str(out), exclude_raters=["plain-1"])
    assert out.read_bytes() == _today(campaign, fmt, exclude_raters=["plain-1"])
    capsys.readouterr()
    call_command("report", campaign="rich", format=fmt)
    assert capsys.readouterr().out.encode() == _today(campaign, fmt)


def test_an_unknown_campaign_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no campaign named 'nope'"):
        call_command("report", campaign="nope", format="csv", out=str(tmp_path / "x.csv"))
    assert list(tmp_path.iterdir()) == []


def _parquet_table(data: bytes):  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


def test_the_parquet_download_is_the_hf_datasets_file_with_pseudonymous_raters(
    researcher_client: Client, make_rater, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    campaign = _rich_campaign(make_rater)
    body, response = _download(researcher_client, campaign, format="parquet")
    assert response["Content-Type"] == "application/vnd.apache.parquet"  # type: ignore[index]
    table = _parquet_table(body)
    records = campaign_rating_records(campaign=campaign)
    assert table.column_names == [name for name, _, _ in COLUMNS] and table.num_rows == len(records)
    assert sorted(set(table.column("rater").to_pylist())) == ["rater-001", "rater-002", "rater-003"]
    for secret in (b"plain-1", b"plain-2", b"pid1"):
        assert secret not in body
    assert table.column("winner").to_pylist() == [r.chosen_system or r.choice for r in records]
    call_command("report", campaign="rich", format="hf", out=str(tmp_path / "hf"))
    assert (tmp_path / "hf" / DATA_FILE).read_bytes() == body  # one writer: the same bytes
    import datasets

    (tmp_path / "download.parquet").write_bytes(body)
    loaded = datasets.Dataset.from_parquet(
        str(tmp_path / "download.parquet"), cache_dir=str(tmp_path / "cache")
    )
    assert loaded.num_rows == len(records) and loaded[0]["prompt_id"] == records[0].prompt_id
    excluded, _ = _download(researcher_client, campaign, format="parquet", exclude_gold="1")
    assert _parquet_table(excluded).num_rows == len([r for r in records if not r.is_gold])


def test_parquet_is_written_a_row_group_at_a_time_and_no_ratings_make_an_empty_file() -> None:
    import pyarrow.parquet as pq

    records = make_records(prompts=5, per_item=2, with_texts=True)
    chunks = list(hf_parquet_chunks(records=records, rows_per_group=4))
    assert len(records) == 10
    assert len(chunks) == 3  # each full row group as it fills, then the last one with the footer
    whole = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
    assert whole.metadata.num_row_groups == 3 and whole.metadata.num_rows == len(records)
    by_size = pq.ParquetFile(io.BytesIO(b"".join(hf_parquet_chunks(records=records, group_bytes=1))))
    assert by_size.metadata.num_row_groups == len(records)  # long texts close a group early
    empty = _parquet_table(b"".join(hf_parquet_chunks(records=[])))
    assert empty.num_rows == 0 and empty.column_names == [name for name, _, _ in COLUMNS]


def test_the_report_page_links_the_parquet_download(researcher_client: Client, make_rater) -> None:  # type: ignore[no-untyped-def]
    campaign = _rich_campaign(make_rater)
    html = researcher_client.get(
        reverse("reports:campaign", args=[campaign.pk]), {"exclude_gold": "1"}
    ).content
    assert b"format=parquet" in html and b"exclude_gold=1&amp;format=parquet" in html


def test_a_rater_cannot_download_the_ratings(rater_client: Client, make_rater) -> None:  # type: ignore[no-untyped-def]
    campaign = _rich_campaign(make_rater)
    for fmt in ("csv", "jsonl", "parquet"):
        response = rater_client.get(reverse("reports:download", args=[campaign.pk]), {"format": fmt})
        assert response.status_code == 403
