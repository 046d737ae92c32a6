"""`report (--campaign NAME | --ratings FILE) --format json|csv|jsonl|html|dpo|hf [--out PATH]`.

`--format hf` writes a Hugging Face dataset folder (reports/hf_dataset.py) and needs `--out DIR`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.report import ReportInputError
from reports.campaign_records import campaign_by_name
from reports.campaign_report import campaign_ratings_chunks, source_from_campaign
from reports.exports import FORMATS, REPORT_FORMATS, report_export
from reports.hf_dataset import hf_dataset_write
from reports.ratings_file import RatingsFileError
from reports.sources import ExportError, ReportSource, source_from_ratings_file


def _write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Write to a temporary file beside ``path`` and rename it: a failed export leaves nothing behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            for chunk in chunks:
                stream.write(chunk)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = "Build a report (preference, agreement, position bias, raters, rankings) or export ratings."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--campaign", help="name of a rating campaign")
        source.add_argument(
            "--ratings", help="a ratings JSONL file (the contract's format, or FastChat's battle format)"
        )
        parser.add_argument("--format", choices=(*FORMATS, "hf"), default="json", dest="fmt")
        parser.add_argument("--out", help="output path (default: standard output)")
        parser.add_argument("--baseline", help="system to compare against (default: the first system)")
        parser.add_argument("--candidate", help="system compared with the baseline (default: the next one)")
        parser.add_argument(
            "--exclude-rater", action="append", default=[], dest="exclude_raters", metavar="RATER"
        )
        parser.add_argument("--exclude-gold", action="store_true", help="leave gold comparisons out")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fmt"] == "hf" and not options["out"]:
            raise CommandError("--format hf writes a folder: give --out DIR")
        try:
            if options["fmt"] == "hf":
                hf_dataset_write(source=self._source(options), out=Path(options["out"]))
                self.stderr.write(f"wrote a Hugging Face dataset folder to {options['out']}")
                return
            chunks = self._streamed(options)
            if chunks is None:
                chunks = [
                    report_export(
                        source=self._source(options),
                        fmt=options["fmt"],
                        baseline=options["baseline"],
                        candidate=options["candidate"],
                    )
                ]
            if options["out"]:
                _write_atomically(Path(options["out"]), chunks)
                self.stderr.write(f"wrote {options['fmt']} report to {options['out']}")
            else:
                for chunk in chunks:
                    sys.stdout.write(chunk)
                sys.stdout.flush()
        except (RatingsFileError, ExportError, ReportInputError) as exc:
            raise CommandError(str(exc)) from exc

    def _source(self, options: dict[str, Any]) -> ReportSource:
        if options["ratings"]:
            if not Path(options["ratings"]).is_file():
                raise CommandError(f"no such ratings file: {options['ratings']}")
            return source_from_ratings_file(
                path=options["ratings"],
                exclude_raters=options["exclude_raters"],
                exclude_gold=options["exclude_gold"],
            )
        return source_from_campaign(
            name=options["campaign"],
            exclude_raters=options["exclude_raters"],
            exclude_gold=options["exclude_gold"],
            # The report reads the answers' stored style counts, not their texts.
            texts=options["fmt"] not in REPORT_FORMATS,
        )

    def _streamed(self, options: dict[str, Any]) -> Iterable[str] | None:
        """A campaign's ratings as csv or jsonl, read and written a chunk at a time (constant memory);
        None for the other formats and for a ratings file (already read whole to be validated)."""
        if not options["campaign"] or options["fmt"] not in ("csv", "jsonl"):
            return None
        campaign = campaign_by_name(options["campaign"])
        if campaign is None:
            raise ExportError(f"no campaign named {options['campaign']!r}")
        chunks = campaign_ratings_chunks(
            campaign=campaign,
            fmt=options["fmt"],
            exclude_raters=options["exclude_raters"],
            exclude_gold=options["exclude_gold"],
        )
        return cast(Iterable[str], chunks)
