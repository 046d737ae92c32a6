"""The importers' vocabulary: prompt records, problems and the checks every format's fields go through.

Nothing here touches the database; a record that fails a check raises `RecordError`, which the entry
point turns into a `Problem` naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("usability", "vicuna", "mtbench", "koala", "selfinstruct", "alpacaeval", "jsonl", "csv")
SETTINGS = ("zero_shot", "zero_shot_cot", "few_shot")
# The contract's own keys; metadata may not reuse them or an export could not be read back.
# `turns` is written only for a conversation, so a single-turn file exports (and hashes) as before.
CONTRACT_KEYS = ("id", "category", "setting", "prompt", "variant_of", "stop", "turns")
DEFAULT_CATEGORY = "general"
# Column widths of the Prompt model: longer values would fail at insert time on PostgreSQL.
MAX_UID_CHARS = 200
MAX_CATEGORY_CHARS = 100
# Enough to show the shape of a broken file without flooding a page or a terminal.
MAX_PROBLEMS = 25
# Deeper metadata is refused rather than risking the recursion limit in encoders and databases.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    file: str
    location: str  # "line 3", "record 3" or "" for the whole file
    field: str  # "" when no single field is at fault
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.location:
            where += f", {self.location}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class EvalSetImportError(ValueError):
    """A file that cannot be imported; `problems` lists every fault found (up to a cap)."""

    def __init__(self, problems: list[Problem], *, truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        super().__init__(self.summary())

    def summary(self) -> str:
        first = str(self.problems[0]).replace("\n", " ") if self.problems else "cannot import"
        more = len(self.problems) - 1
        if more > 0 or self.truncated:
            first += f" (and {more}{'+' if self.truncated else ''} more problem{'s' if more != 1 else ''})"
        return first


@dataclass(frozen=True)
class PromptRecord:
    """One prompt in the contract's terms; `metadata` never uses a contract key."""

    uid: str
    category: str
    setting: str
    text: str
    variant_of: str | None = None
    stop: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    # The user's messages of a conversation (two or more, the first is `text`); empty: one turn.
    turns: tuple[str, ...] = ()

    def as_contract(self) -> dict[str, Any]:
        """The line the contract file holds for this prompt (metadata flattened after the fixed keys)."""
        line: dict[str, Any] = {
            "id": self.uid,
            "category": self.category,
            "setting": self.setting,
            "prompt": self.text,
            "variant_of": self.variant_of,
            "stop": list(self.stop),
        }
        if self.turns:
            line["turns"] = list(self.turns)
        line.update(self.metadata)
        return line


@dataclass(frozen=True)
class ParseResult:
    format: str
    records: list[PromptRecord]
    notes: list[str] = field(default_factory=list)


class Problems:
    """Collects problems for one file; parsers keep going to report several at once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.truncated = False

    def add(self, location: str, field_name: str, message: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.items.append(Problem(self.file, location, field_name, message))

    def fail(self, location: str, field_name: str, message: str) -> EvalSetImportError:
        self.add(location, field_name, message)
        return self.error()

    def error(self) -> EvalSetImportError:
        return EvalSetImportError(list(self.items), truncated=self.truncated)

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()


class RecordError(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


@dataclass(frozen=True)
class Options:
    id_field: str
    prompt_field: str
    category_field: str


Parser = Callable[[dict[str, Any], int, Options], list[PromptRecord]]


# --- field checks ------------------------------------------------------------------------------------


def _walk_strings(value: Any) -> Iterator[str]:
    # Iterative so that a deeply nested metadata value cannot exhaust the stack.
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RecordError("", f"a value is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def check_storable(record: dict[str, Any]) -> None:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL text, UTF-8 encoding)."""
    for key, value in record.items():
        try:
            for text in _walk_strings([key, value]):
                if "\x00" in text:
                    raise RecordError(key, "contains a NUL character")
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise RecordError(key, "contains an unpaired surrogate (invalid Unicode)") from None
        except RecordError as exc:
            raise RecordError(exc.field_name or key, exc.message) from None


def normalise_numbers(value: Any) -> Any:
    """Integral floats become ints, as PostgreSQL's jsonb gives them back (1e16 is read as an int).

    Without this a set imported on PostgreSQL would export a file with a different content hash.
    """
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [normalise_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: normalise_numbers(item) for key, item in value.items()}
    return value


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def required_field(record: dict[str, Any], key: str) -> Any:
    if key not in record:
        present = ", ".join(sorted(record)) or "none"
        raise RecordError(key, f"missing (fields present: {present})")
    return record[key]


def text_field(record: dict[str, Any], key: str) -> str:
    value = required_field(record, key)
    if not isinstance(value, str):
        raise RecordError(key, f"expected a string, got {type_name(value)}")
    if not value.strip():
        raise RecordError(key, "is empty")
    return value


def identifier_field(record: dict[str, Any], key: str) -> str:
    value = required_field(record, key)
    # JSON ids are strings or integers (Vicuna and MT-Bench number their questions).
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(key, f"expected a string or an integer, got {type_name(value)}")
    uid = str(value).strip()
    if not uid:
        raise RecordError(key, "is empty")
    if len(uid) > MAX_UID_CHARS:
        raise RecordError(key, f"is {len(uid)} characters long; ids are at most {MAX_UID_CHARS}")
    return uid


def category_field(record: dict[str, Any], key: str, *, required: bool = True) -> str:
    if not required and key not in record:
        return DEFAULT_CATEGORY
    value = text_field(record, key).strip()
    if len(value) > MAX_CATEGORY_CHARS:
        raise RecordError(
            key, f"is {len(value)} characters long; categories are at most {MAX_CATEGORY_CHARS}"
        )
    return value


def metadata_of(
    record: dict[str, Any], used: Iterable[str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every field the parser did not consume; names that clash with contract keys get a `source_` prefix."""
    used_set = set(used)
    metadata: dict[str, Any] = {key: normalise_numbers(value) for key, value in (extra or {}).items()}
    for key, value in record.items():
        if key in used_set:
            continue
        name = key
        while name in CONTRACT_KEYS or name in metadata:
            name = f"source_{name}"
        metadata[name] = normalise_numbers(value)
    return metadata


def turns_field(record: dict[str, Any], key: str = "turns") -> list[str]:
    """A list of one or more non-empty strings: the user's messages, in order."""
    turns = required_field(record, key)
    if not isinstance(turns, list):
        raise RecordError(key, f"expected a list of strings, got {type_name(turns)}")
    if not turns:
        raise RecordError(key, "is an empty list")
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, str):
            raise RecordError(key, f"turn {number} is {type_name(turn)}, not a string")
        if not turn.strip():
            raise RecordError(key, f"turn {number} is empty")
    return turns


def conversation_fields(record: dict[str, Any], prompt_key: str) -> tuple[str, tuple[str, ...]]:
    """(prompt, turns) of a contract-style record that may carry `turns` beside or instead of the prompt.

    One turn is a plain prompt (turns empty). With both given, the prompt must be the first turn, or
    the file would say two different things about what the model is asked first.
    """
    if "turns" not in record:
        return text_field(record, prompt_key), ()
    turns = turns_field(record)
    if prompt_key in record:
        text = text_field(record, prompt_key)
        if text != turns[0]:
            raise RecordError(prompt_key, "differs from the first of `turns`; the prompt is the first turn")
    return turns[0], tuple(turns) if len(turns) > 1 else ()
