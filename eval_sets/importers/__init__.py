"""Parsers that turn evaluation-set files into plain prompt records.

One parser per format, plus detection. Nothing here touches the database: a parser either returns
every record of the file or raises `EvalSetImportError`, whose problems each name the file, the line
(or record) and the field, so that a caller can refuse the whole file before storing anything.

Formats (the `--format` names):

- ``usability``: the contract JSONL (`id`, `category`, `setting`, `prompt`, `variant_of`, `stop`,
  and for a conversation `turns`, the user's messages, `prompt` being the first); unknown fields
  become metadata.
- ``vicuna``: `question_id`, `category`, and `text` or a one-element `turns`.
- ``mtbench``: `question_id`, `category`, `turns`; the first turn is the prompt and a question of
  two or more turns is kept as a conversation (`turns`).
- ``koala``: `id`, `prompt` (category `general`).
- ``selfinstruct``: `id`, `motivation_app` (the category), `instruction`, `instances`; the prompt is
  the instruction followed by the instance input. A record with several instances gives one prompt
  per instance (`ID#1`, `ID#2`, ...).
- ``alpacaeval``: a JSON list (or JSONL) of `instruction`, `output`, `generator`, `dataset`; the
  instruction is the prompt, `dataset` the category, ids are `alpacaeval_0`, `alpacaeval_1`, ...
- ``jsonl`` / ``csv``: generic files read through a column mapping (`id_field`, `prompt_field`,
  `category_field`; defaults `id`, `prompt`, `category`), a JSONL record may give `turns` (a
  conversation) instead of the prompt; other columns become metadata.

Every JSON format also accepts a single JSON array of objects instead of one object a line.
Files must be UTF-8 (a byte-order mark is allowed) and at most `max_bytes` long.

The package holds one module per format family (usability, chat, instruct, mapped), the reading of
files (reading), detection (detect), the shared records and field checks (records) and the entry
point (parse); the names below are its public face.
"""

from eval_sets.importers.detect import detect_format
from eval_sets.importers.parse import PARSERS, parse_eval_set
from eval_sets.importers.reading import read_records
from eval_sets.importers.records import (
    CONTRACT_KEYS,
    DEFAULT_CATEGORY,
    FORMATS,
    MAX_CATEGORY_CHARS,
    MAX_DEPTH,
    MAX_PROBLEMS,
    MAX_UID_CHARS,
    SETTINGS,
    EvalSetImportError,
    ParseResult,
    Problem,
    PromptRecord,
)

__all__ = [
    "CONTRACT_KEYS",
    "DEFAULT_CATEGORY",
    "FORMATS",
    "MAX_CATEGORY_CHARS",
    "MAX_DEPTH",
    "MAX_PROBLEMS",
    "MAX_UID_CHARS",
    "PARSERS",
    "SETTINGS",
    "EvalSetImportError",
    "ParseResult",
    "Problem",
    "PromptRecord",
    "detect_format",
    "parse_eval_set",
    "read_records",
]
