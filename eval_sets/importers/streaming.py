"""Reading a large JSON record file as a stream, with the same checks and messages as `read_records`.

A 500,000-line file must not be held as text, records and objects at once. `RecordFile` reads the
file (a path, or bytes already uploaded) as often as the caller needs, a line at a time: `check()`
is the whole-file pass of `reading.decode` (size, UTF-8 with the offset of the first bad byte, not
empty), and `items()` yields each record of a JSONL file, adding JSON faults to the caller's
`Problems` as `reading.json_items` does, so the caller can validate every record in one pass and
insert in another. A JSON array is parsed whole, as before (it is bounded by the upload limit).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from eval_sets.importers.reading import BadRecord, iter_json_records, json_items
from eval_sets.importers.records import Problems

_CHUNK = 1 << 20


class RecordFile:
    """A JSON or CSV file given as a `path` or as `data`, read in streamed passes."""

    def __init__(self, *, filename: str, path: str | Path | None = None, data: bytes | None = None) -> None:
        if (path is None) == (data is None):
            raise TypeError("RecordFile needs a path or data")
        self.filename, self.path, self.data = filename, path, data
        self.first_char = ""  # the first character that is not white space, once checked

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data) if self.data is not None else Path(self.path).open("rb")  # type: ignore[arg-type]

    def size(self) -> int:
        return len(self.data) if self.data is not None else Path(self.path).stat().st_size  # type: ignore[arg-type]

    def check(self, problems: Problems, max_bytes: int | None) -> None:
        """`reading.decode`'s checks in one streamed pass: raise its error, or note the first character."""
        size = self.size()
        if max_bytes is not None and size > max_bytes:
            raise problems.fail(
                "", "", f"file is {size:,} bytes; the limit is {max_bytes:,} bytes (MAX_UPLOAD_BYTES)"
            )
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        offset, lines, first = 0, 1, ""
        with self.open() as f:
            while True:
                chunk = f.read(_CHUNK)
                pending = decoder.getstate()[0] if offset else b""
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    seen = pending + chunk
                    at = offset - len(pending) + exc.start
                    line = lines + seen[: exc.start].count(b"\n")
                    raise problems.fail(
                        f"line {line}", "", f"not UTF-8 text (byte 0x{seen[exc.start]:02x} at offset {at})"
                    ) from None
                if not first and text.strip():
                    first = text.lstrip()[0]
                if not chunk:
                    break
                lines += chunk.count(b"\n")
                offset += len(chunk)
        if not first:
            raise problems.fail("", "", "the file is empty")
        self.first_char = first

    @property
    def is_array(self) -> bool:
        return self.first_char == "["

    def items(self, problems: Problems) -> Iterator[tuple[str, Any]]:
        """(location, value) for each record; a line that is not JSON is added to `problems` and skipped.

        A JSON array is read whole and `json_items` raises on it as it did. Call `check` first.
        """
        if self.is_array:
            with self.open() as f:
                text = f.read().decode("utf-8-sig")
            yield from json_items(text, problems)
            return
        with self.open() as f:
            for location, value in iter_json_records(f):
                if isinstance(value, BadRecord):
                    problems.add(location, "", value.problem)
                else:
                    yield location, value
