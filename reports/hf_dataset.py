"""`report --format hf --out DIR`: the ratings as a Hugging Face dataset folder.

`data/train-00000-of-00001.parquet` holds one row per rating; `README.md` is the dataset card, its YAML
front matter naming the config, the features and a licence field left for the researcher (only they
know under what terms the ratings may be shared), its text the methods. `datasets.load_dataset(DIR)`
loads it offline. Raters appear as stable pseudonyms (rater-001 in order of first rating), never as
account names or crowd-platform ids.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from analysis.records import RatingRecord
from analysis.report import ReportInputError
from reports.sources import ExportError, ReportSource, report_of

DATA_FILE = "data/train-00000-of-00001.parquet"
# A row group of the Parquet file: this many rows, or fewer once their texts hold this many characters.
ROWS_PER_GROUP = 10_000
GROUP_BYTES = 32 * 1024 * 1024
# (column, pyarrow type name, the card's dtype): the card lists exactly what the file holds.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("campaign", "string", "string"),
    ("prompt_id", "string", "string"),
    ("prompt", "string", "string"),
    ("system_a", "string", "string"),
    ("system_b", "string", "string"),
    ("response_a", "string", "string"),
    ("response_b", "string", "string"),
    ("left", "string", "string"),
    ("choice", "string", "string"),
    ("winner", "string", "string"),
    ("rater", "string", "string"),
    ("seconds", "float64", "float64"),
    ("turn", "int64", "int64"),
    ("category", "string", "string"),
    ("setting", "string", "string"),
    ("is_gold", "bool_", "bool"),
    ("created", "string", "string"),
)


def hf_rows(records: Iterable[RatingRecord]) -> list[dict[str, Any]]:
    """One row per rating; `winner` names the system chosen (or tie / both_bad), `left` the system shown left."""
    return list(hf_row_stream(records))


def hf_row_stream(records: Iterable[RatingRecord]) -> Iterator[dict[str, Any]]:
    """`hf_rows` one row at a time; the pseudonyms hold across the stream (a rater-to-pseudonym map)."""
    pseudonyms: dict[str, str] = {}
    for record in records:
        rater = pseudonyms.setdefault(record.rater, f"rater-{len(pseudonyms) + 1:03d}")
        yield {
            "campaign": record.campaign, "prompt_id": record.prompt_id, "prompt": record.prompt_text,
            "system_a": record.system_a, "system_b": record.system_b,
            "response_a": record.text_a, "response_b": record.text_b,
            "left": record.system(record.system_on_left), "choice": record.choice,
            "winner": record.chosen_system or record.choice, "rater": rater, "seconds": float(record.seconds),
            "turn": int(getattr(record, "turn", 1) or 1), "category": record.category,
            "setting": record.setting, "is_gold": record.is_gold, "created": record.created,
        }  # fmt: skip


class _DrainedSink:
    """What ParquetWriter writes into: the bytes are taken out as they come, so none pile up here."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def tell(self) -> int:  # the writer records row groups' offsets from it
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def hf_parquet_chunks(
    *, records: Iterable[RatingRecord], rows_per_group: int = ROWS_PER_GROUP, group_bytes: int = GROUP_BYTES
) -> Iterator[bytes]:
    """The dataset's Parquet file (COLUMNS, pseudonymous raters), a row group at a time: a row group is
    `rows_per_group` rows, or fewer once their texts pass `group_bytes` (long responses stay bounded).
    Yields each row group's bytes as the writer writes them, then the footer. No ratings: a valid file
    of no rows."""
    import pyarrow as pa  # only this export needs it
    import pyarrow.parquet as pq

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind, _ in COLUMNS])
    sink = _DrainedSink()
    writer = pq.ParquetWriter(sink, schema)
    try:
        columns: dict[str, list[Any]] = {name: [] for name, _, _ in COLUMNS}
        held = 0
        for row in hf_row_stream(records):
            for name, value in row.items():
                columns[name].append(value)
            held += sum(len(row[name] or "") for name in ("prompt", "response_a", "response_b"))
            if len(columns["campaign"]) >= rows_per_group or held >= group_bytes:
                writer.write_table(pa.table(columns, schema=schema), row_group_size=rows_per_group)
                columns = {name: [] for name in columns}
                held = 0
                yield sink.drain()
        if columns["campaign"]:
            writer.write_table(pa.table(columns, schema=schema), row_group_size=rows_per_group)
    finally:
        writer.close()
    yield sink.drain()


def _card(source: ReportSource, rows: Sequence[RatingRecord]) -> str:
    features = "\n".join(f"    - name: {name}\n      dtype: {dtype}" for name, _, dtype in COLUMNS)
    systems = sorted({row.system_a for row in rows} | {row.system_b for row in rows})
    try:
        overall = report_of(source=source, rounds=200)["overall"]
        summary = (
            f"Overall, the candidate was preferred in {overall['wins']} and the baseline in {overall['losses']} "
            f"of {overall['n']} ratings (ties {overall['ties']}, both bad {overall['both_bad']}); preference "
            f"rate {overall['preference_rate']} with a Wilson 95 % interval [{overall['ci_low']}, {overall['ci_high']}]."
        )
    except (ReportInputError, KeyError, TypeError):
        summary = "No preference summary could be computed from these ratings."
    return f"""---
# license: fill in the licence you share these ratings under (e.g. cc-by-4.0); left for the researcher
license:
pretty_name: "Human preference ratings: {source.label}"
task_categories:
- text-generation
tags:
- human-feedback
- preference
- pairwise-comparison
configs:
- config_name: default
  data_files:
  - split: train
    path: {DATA_FILE}
dataset_info:
  features:
{features}
  splits:
  - name: train
    num_examples: {len(rows)}
---

# Human preference ratings: {source.label}

{len(rows)} ratings of {len(systems)} systems ({", ".join(systems)}).

## Methods

- Blind side-by-side rating: each rater saw one prompt and two responses, sides in random order
  (`left` names the system shown on the left), with no hint of which system wrote which.
- Choices: `choice` is `a`, `b`, `tie` or `both_bad`, naming the system (`system_a` / `system_b`), not
  the side; `winner` spells out the chosen system's name.
- Responses: each system's kept sample, chosen by its own log probability among five at
  temperature 0.7 (samples scoring better than half of their median are dropped first), or answers
  imported as made elsewhere.
- Raters are pseudonymised (`rater-001` ...), in order of their first rating; `seconds` is the time
  the rater spent on the item; `is_gold` marks quality-check items with a known answer.
- `turn` is the conversation turn rated (1 for single-turn prompts); `category` and `setting`
  (zero_shot, zero_shot_cot, few_shot) come from the evaluation set.
- Reports (preference rates with Wilson intervals, exact binomial tests, agreement, position bias,
  Bradley-Terry rankings and style control) are made with the platform's `report` command.

{summary}
"""


def hf_dataset_write(*, source: ReportSource, out: Path) -> Path:
    """Write the folder `out` (created; an existing folder gets these files replaced). Returns it.

    The Parquet file is written by `hf_parquet_chunks`, the writer of the report page's Parquet download,
    so the two files are the same bytes for the same ratings."""
    if not source.records:
        raise ExportError("no ratings to export")
    out.mkdir(parents=True, exist_ok=True)
    # Written beside `out` and moved in: a failed export leaves no half-written file behind.
    with tempfile.TemporaryDirectory(dir=out) as staging:
        staged = Path(staging)
        (staged / "data").mkdir()
        with open(staged / DATA_FILE, "wb") as parquet:
            for chunk in hf_parquet_chunks(records=source.records):
                parquet.write(chunk)
        (staged / "README.md").write_text(_card(source, source.records), encoding="utf-8")
        (out / "data").mkdir(exist_ok=True)
        for name in (DATA_FILE, "README.md"):
            os.replace(staged / name, out / name)
    shutil.rmtree(out / ".cache", ignore_errors=True)
    return out
