"""Importing and exporting evaluation-set versions.

A version is identified by a hash of its normalised records (the contract lines, in file order), so
the file that `eval_set_export` writes imports back as the very same version, changed content under
the same name becomes the next version, and a stored version is never modified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from eval_sets.importers import EvalSetImportError, Problem, PromptRecord
from eval_sets.importers.parse import StreamedParse, parse_eval_set_stream
from eval_sets.importers.streaming import RecordFile
from eval_sets.models import EvalSet, Prompt

MAX_NAME_CHARS = 200
_BATCH = 2000  # prompts per insert


@dataclass(frozen=True)
class EvalSetImportResult:
    eval_set: EvalSet
    created: bool  # False when identical content was already stored under this name
    format: str
    prompt_count: int
    notes: list[str] = field(default_factory=list)


def _contract_line(record: PromptRecord) -> bytes:
    line = json.dumps(record.as_contract(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return line.encode("utf-8") + b"\n"


def eval_set_content_hash(*, records: Iterable[PromptRecord]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(_contract_line(record))
    return digest.hexdigest()


def eval_set_check_size(*, size: int, filename: str, limit: int | None = None) -> None:
    """Refuse a file over the limit (default settings.MAX_UPLOAD_BYTES) before anyone reads it."""
    limit = settings.MAX_UPLOAD_BYTES if limit is None else limit
    if size > limit:
        raise EvalSetImportError(
            [
                Problem(
                    filename,
                    "",
                    "",
                    f"file is {size:,} bytes; the limit is {limit:,} bytes (MAX_UPLOAD_BYTES)",
                )
            ]
        )


def _clean_name(name: str, filename: str) -> str:
    cleaned = name.strip()
    problem = None
    if not cleaned:
        problem = "the set needs a name"
    elif "@" in cleaned:
        problem = f"set name {cleaned!r} may not contain '@' (it separates NAME@vN)"
    elif len(cleaned) > MAX_NAME_CHARS:
        problem = f"set name is {len(cleaned)} characters long; the limit is {MAX_NAME_CHARS}"
    elif any(not char.isprintable() for char in cleaned):
        problem = f"set name {cleaned!r} contains control characters"
    if problem:
        raise EvalSetImportError([Problem(filename, "", "", problem)])
    return cleaned


def _default_name(filename: str) -> str:
    stem = Path(filename).name
    for suffix in (".jsonl", ".json", ".csv", ".tsv"):
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def eval_set_import(
    *,
    data: bytes | None = None,
    path: str | Path | None = None,
    filename: str | None = None,
    name: str | None = None,
    description: str = "",
    format: str = "auto",
    id_field: str | None = None,
    prompt_field: str | None = None,
    category_field: str | None = None,
    max_bytes: int | None = None,
) -> EvalSetImportResult:
    """Parse a file (`data`, or the file at `path`) and store it as a version of the set `name`.

    The name defaults to the file name without its extension. Identical content returns the
    version already stored (`created` False); anything else becomes version max+1. The size limit
    defaults to `settings.MAX_UPLOAD_BYTES`. Raises `EvalSetImportError` and stores nothing when any
    record is bad. The file is read in streamed passes (eval_sets.importers.parse): every record is
    checked and hashed first, then the prompts are stored in batches in one transaction.
    """
    limit = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if data is None and path is None:
        raise TypeError("eval_set_import needs data or path")
    filename = filename or (str(path) if data is None else "upload")
    source = (
        RecordFile(filename=filename, data=data)
        if data is not None
        else RecordFile(filename=filename, path=path)
    )
    set_name = _clean_name(name if name is not None else _default_name(filename), filename)
    digest = hashlib.sha256()
    try:
        parsed = parse_eval_set_stream(
            source=source,
            format=format,
            id_field=id_field,
            prompt_field=prompt_field,
            category_field=category_field,
            max_bytes=limit,
            max_prompt_chars=settings.MAX_PROMPT_CHARS,
            on_record=lambda record: digest.update(_contract_line(record)),
        )
        content_hash = digest.hexdigest()
        source_file = Path(filename).name[:255]
        try:
            eval_set, created = _store(name=set_name, content_hash=content_hash, description=description,
                                       source_file=source_file, parsed=parsed)  # fmt: skip
        except IntegrityError:
            # Another import of the same name committed between our read and our insert.
            eval_set, created = _store(name=set_name, content_hash=content_hash, description=description,
                                       source_file=source_file, parsed=parsed)  # fmt: skip
    except OSError as exc:
        raise EvalSetImportError(
            [Problem(filename, "", "", f"cannot read the file ({exc.strerror})")]
        ) from None
    return EvalSetImportResult(
        eval_set=eval_set,
        created=created,
        format=parsed.format,
        prompt_count=parsed.count,
        notes=parsed.notes,
    )


def _store(
    *,
    name: str,
    content_hash: str,
    description: str,
    source_file: str,
    parsed: StreamedParse,
) -> tuple[EvalSet, bool]:
    with transaction.atomic():
        existing = EvalSet.objects.filter(name=name, content_hash=content_hash).first()
        if existing is not None:
            return existing, False
        latest = EvalSet.objects.filter(name=name).aggregate(latest=Max("version"))["latest"] or 0
        eval_set = EvalSet.objects.create(
            name=name,
            version=latest + 1,
            content_hash=content_hash,
            description=description.strip(),
            source_format=parsed.format,
            source_file=source_file,
        )
        # The second pass over the file: stored a batch at a time, hashed again so that a file
        # changed between the passes is refused rather than stored under the first pass's hash.
        digest = hashlib.sha256()
        records = enumerate(parsed.records())
        while batch := list(islice(records, _BATCH)):
            for _, record in batch:
                digest.update(_contract_line(record))
            Prompt.objects.bulk_create(
                [
                    Prompt(
                        eval_set=eval_set,
                        uid=record.uid,
                        position=position,
                        category=record.category,
                        setting=record.setting,
                        text=record.text,
                        variant_of=record.variant_of or "",
                        stop=list(record.stop),
                        metadata=record.metadata,
                        turns=list(record.turns),
                    )
                    for position, record in batch
                ]
            )
        if digest.hexdigest() != content_hash:
            raise EvalSetImportError(
                [
                    Problem(
                        source_file, "", "", "the file changed while it was being imported; nothing imported"
                    )
                ]
            )
    return eval_set, True


def eval_set_records(*, eval_set: EvalSet) -> list[PromptRecord]:
    return [
        PromptRecord(
            uid=prompt.uid,
            category=prompt.category,
            setting=prompt.setting,
            text=prompt.text,
            variant_of=prompt.variant_of or None,
            stop=tuple(prompt.stop),
            metadata=dict(prompt.metadata),
            turns=tuple(prompt.turns),
        )
        for prompt in eval_set.prompts.order_by("position")
    ]


def eval_set_export(*, eval_set: EvalSet) -> str:
    """The version as contract JSONL (one prompt a line, metadata flattened after the fixed keys)."""
    return "".join(
        json.dumps(record.as_contract(), ensure_ascii=False) + "\n"
        for record in eval_set_records(eval_set=eval_set)
    )
