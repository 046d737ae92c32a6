"""The one CSV writer the site uses: cells a spreadsheet would run as a formula are escaped.

OWASP's rule for CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote, so Excel, LibreOffice and Sheets show it as text. Only CSV
goes through here; JSON and JSONL exports stay exact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` made safe for a spreadsheet; numbers and booleans stay as they are (they never run)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_dict_chunks(
    *, fieldnames: Sequence[str], rows: Iterable[Mapping[str, object]], rows_per_chunk: int = 1000
) -> Iterator[str]:
    """The CSV text of ``rows``, header first, a piece of ``rows_per_chunk`` rows at a time: a download
    streams it without holding the file; joined, the pieces are exactly what ``csv_write_dicts`` writes."""
    buffer = io.StringIO()
    # A plain writer over the fields in order writes what csv.DictWriter would, with less work a row.
    names = list(fieldnames)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for number, row in enumerate(rows, start=1):
        if row.keys() - names:
            raise ValueError(f"fields not in the header: {sorted(row.keys() - names)}")
        writer.writerow([csv_cell(row.get(name, "")) for name in names])
        if number % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def csv_write_dicts(
    *, stream: IO[str], fieldnames: Sequence[str], rows: Iterable[Mapping[str, object]]
) -> None:
    for chunk in csv_dict_chunks(fieldnames=fieldnames, rows=rows):
        stream.write(chunk)
