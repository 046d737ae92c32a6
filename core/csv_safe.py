"""The one CSV writer the site uses: cells a spreadsheet would run as a formula are escaped.

OWASP's rule for CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote, so Excel, LibreOffice and Sheets show it as text. Only CSV
goes through here; JSON and JSONL exports stay exact.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` made safe for a spreadsheet; numbers and booleans stay as they are (they never run)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_write_dicts(
    *, stream: IO[str], fieldnames: Sequence[str], rows: Iterable[Mapping[str, object]]
) -> None:
    writer = csv.DictWriter(stream, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
