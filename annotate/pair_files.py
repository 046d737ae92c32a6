"""The files researchers upload of answer pairs with a known answer: gold checks and practice items.

Both are read by the importers' one reader (`eval_sets.importers.read_records`): UTF-8 with or
without a byte-order mark, one JSON object a line or one JSON array, no NaN, no duplicate keys, and
only "\\n" ends a line, so an answer holding U+2028 stays one record. Every fault names its line.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from eval_sets.importers import EvalSetImportError, read_records

# The known answer names a text, not a side: sides are drawn when the item is stored.
ANSWERS = ("a", "b", "tie", "both_bad")


class PairFileError(ValueError):
    """A pair file that cannot be added; nothing of it is stored."""


def pair_file_read(
    *, data: bytes, filename: str, text_fields: tuple[str, ...], other_fields: tuple[str, ...] = ()
) -> list[tuple[str, dict[str, Any]]]:
    """(location, object) for each pair; `text_fields` must be strings, `other_fields` present."""
    try:
        items = read_records(data=data, filename=filename, max_bytes=settings.MAX_UPLOAD_BYTES)
    except EvalSetImportError as exc:
        raise PairFileError(exc.summary()) from None
    pairs: list[tuple[str, dict[str, Any]]] = []
    for location, value in items:
        where = f"{filename}, {location}"
        if not isinstance(value, dict):
            raise PairFileError(f"{where}: expected a JSON object")
        missing = [key for key in other_fields if key not in value]
        missing += [key for key in (*text_fields, "answer") if not isinstance(value.get(key), str)]
        if missing:
            raise PairFileError(f"{where}: missing or not text: {', '.join(missing)}")
        if value["answer"] not in ANSWERS:
            raise PairFileError(f"{where}: answer must be one of {', '.join(ANSWERS)}")
        pairs.append((where, value))
    return pairs
