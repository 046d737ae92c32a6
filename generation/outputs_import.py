"""Responses made elsewhere (an API model, another lab's run), recorded as an external system.

The file is read by the evaluation-set importers' reader, so both kinds of file get the same
checks (UTF-8, valid JSON, no NaN, no duplicate keys) and every fault is named with its line.
It is read in two streamed passes (eval_sets.importers.streaming): the first checks every record
and keeps only which prompts were answered, the second stores the answers in batches in one
transaction, so a 500,000-line file is refused whole or imported whole without being held.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import JobStatus
from eval_sets.importers import EvalSetImportError
from eval_sets.importers.records import Problems
from eval_sets.importers.streaming import RecordFile
from eval_sets.models import EvalSet
from generation.errors import GenerationError
from generation.models import (
    IMPORTED_ENGINE,
    GenerationJob,
    ModelSpec,
    Sample,
    SelectionPolicy,
    storable_text,
)
from generation.selectors import generation_eval_set_resolve


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_length(response: str, where: str) -> None:
    if len(response) > settings.MAX_RESPONSE_CHARS:
        raise GenerationError(
            f"{where}: the response is {len(response)} characters long; responses are "
            f"at most {settings.MAX_RESPONSE_CHARS} (MAX_RESPONSE_CHARS); nothing imported"
        )


class _Prompt(NamedTuple):
    """What matching needs of a prompt; a tuple, as a set of 500,000 prompts keeps one each."""

    pk: int
    uid: str
    turn_count: int


@dataclass
class _Prompts:
    """The set's prompts by id, and by text only when a file matches by text (AlpacaEval's)."""

    target: EvalSet
    by_uid: dict[str, _Prompt] = field(default_factory=dict)
    _by_text: dict[str, _Prompt] | None = None

    def __post_init__(self) -> None:
        for uid, pk, turns in self.target.prompts.order_by("position").values_list("uid", "pk", "turns"):
            self.by_uid[uid] = _Prompt(pk, uid, len(turns) if turns else 1)

    def by_text(self, text: str) -> _Prompt | None:
        if self._by_text is None:
            self._by_text = {}
            rows = self.target.prompts.order_by("position").values_list("text", "uid")
            for prompt_text, uid in rows.iterator(chunk_size=5000):
                self._by_text.setdefault(prompt_text.strip(), self.by_uid[uid])
        return self._by_text.get(text)


def _fastchat_turns(record: dict[str, Any], prompt: _Prompt, where: str) -> list[str]:
    """FastChat's model-answer line: `choices[0].turns` holds one answer per user turn, in order."""
    choices = record["choices"]
    turns = (
        choices[0].get("turns")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict)
        else None
    )
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise GenerationError(f"{where}: choices[0].turns must be a list of strings (one answer per turn)")
    if len(turns) != prompt.turn_count:
        raise GenerationError(
            f"{where}: prompt {prompt.uid} has {prompt.turn_count} turn(s) but the answer has {len(turns)}; "
            "nothing imported"
        )
    for text in turns:
        _check_length(text, where)
    return turns


def _match(record: dict[str, Any], where: str, prompts: _Prompts) -> tuple[_Prompt, list[str]] | str:
    """(prompt, its answers, one per turn), or the label of a prompt not in the set; GenerationError for a
    malformed record."""
    if "question_id" in record and "choices" in record:
        key = str(record["question_id"])
        found = prompts.by_uid.get(key)
        return key if found is None else (found, _fastchat_turns(record, found, where))
    if "prompt_id" in record:
        key = str(record["prompt_id"])
        response = record.get("response", record.get("output"))
        found = prompts.by_uid.get(key)
        label = key
    elif "instruction" in record:
        key = str(record["instruction"])
        response = record.get("output", record.get("response"))
        found = prompts.by_text(key.strip())
        label = repr(_short(key))
    else:
        raise GenerationError(
            f"{where}: needs prompt_id and response, instruction and output, or FastChat's question_id and choices"
        )
    if not isinstance(response, str):
        raise GenerationError(f"{where}: the response must be a string")
    _check_length(response, where)
    if found is None:
        return label
    if found.turn_count > 1:
        raise GenerationError(
            f"{where}: prompt {found.uid} is a conversation of {found.turn_count} turns; "
            "give one answer per turn (FastChat's choices[0].turns); nothing imported"
        )
    return found, [response]


def _matches(source: RecordFile, prompts: _Prompts) -> Iterator[tuple[_Prompt, list[str]]]:
    """The second pass: each answered prompt of a file the first pass found good."""
    for location, value in source.items(Problems(source.filename)):
        matched = _match(value, f"{source.filename}, {location}", prompts)
        if not isinstance(matched, str):
            yield matched


def _check(source: RecordFile, prompts: _Prompts, target: EvalSet, limit: int | None) -> int:
    """The first pass: every fault the whole-file reading named, in the order it named them; returns
    how many prompts the file answers."""
    problems = Problems(source.filename)
    try:
        source.check(problems, limit)
    except EvalSetImportError as exc:
        raise GenerationError(str(exc)) from None
    items = answered = 0
    not_object: str | None = None
    malformed: GenerationError | None = None
    unknown: list[str] = []
    n_unknown = 0
    seen: set[int] = set()
    twice: str | None = None
    for location, value in source.items(problems):
        items += 1
        if problems.items or not_object:
            continue  # a line that is not JSON, or a record that is not an object, is what gets named
        if not isinstance(value, dict):
            not_object = location
            continue
        if malformed:
            continue
        try:
            matched = _match(value, f"{source.filename}, {location}", prompts)
        except GenerationError as exc:
            malformed = exc
            continue
        if isinstance(matched, str):
            n_unknown += 1
            if len(unknown) < 10:
                unknown.append(matched)
            continue
        prompt = matched[0]
        if prompt.pk in seen and twice is None:
            twice = prompt.uid
        seen.add(prompt.pk)
        answered += 1
    if problems.items:
        raise GenerationError(str(problems.error()))
    if not items:
        raise GenerationError(str(problems.fail("", "", "the file holds no records")))
    if not_object:
        raise GenerationError(f"{source.filename}, {not_object}: not a JSON object")
    if malformed:
        raise malformed
    if n_unknown:
        shown = ", ".join(unknown) + (f" and {n_unknown - 10} more" if n_unknown > 10 else "")
        raise GenerationError(f"{n_unknown} prompt(s) not in {target}: {shown}; nothing imported")
    if twice is not None:
        raise GenerationError(f"prompt {twice} appears more than once; nothing imported")
    return answered


_BATCH = 2000  # answers per insert


def outputs_import(
    *,
    model_name: str,
    eval_set: EvalSet | str,
    path: Path | str | None = None,
    data: bytes | None = None,
    filename: str = "upload",
) -> GenerationJob:
    """Record responses made elsewhere as an external system: one selected sample per prompt.

    Accepts JSONL of {"prompt_id", "response"}, an AlpacaEval outputs file (JSON list or
    JSONL of {"instruction", "output"}), matched to prompts by text, or FastChat's model-answer
    format ({"question_id", "choices": [{"turns": [...]}]}), one selected sample per turn. All or nothing. The file is
    a `path` (the command) or uploaded bytes, `data` named `filename` (the web page: at most
    MAX_UPLOAD_BYTES). A model name not yet registered becomes an outputs-only system.
    """
    model_name = model_name.strip()
    if not model_name:
        raise GenerationError("the model name is empty")
    target = generation_eval_set_resolve(eval_set=eval_set)
    if (path is None) == (data is None):
        raise GenerationError("give the outputs as a path or as uploaded data, not both")
    if path is not None:
        source = RecordFile(filename=str(path), path=path)
        limit = None
    else:
        source = RecordFile(filename=filename, data=data)
        limit = settings.MAX_UPLOAD_BYTES
    filename = source.filename
    prompts = _Prompts(target)
    try:
        answered = _check(source, prompts, target, limit)
        now = timezone.now()
        with transaction.atomic():
            spec = ModelSpec.objects.filter(name=model_name).first()
            if spec is None:
                spec = ModelSpec.objects.create(
                    name=model_name,
                    source=ModelSpec.Source.EXTERNAL,
                    description=f"imported from {Path(filename).name}",
                )
            elif spec.source != ModelSpec.Source.EXTERNAL:
                raise GenerationError(
                    f"model {model_name!r} is registered with weights ({spec.source}), not external"
                )
            job = GenerationJob.objects.create(
                model=spec,
                eval_set=target,
                samples_per_prompt=1,
                selection_policy=SelectionPolicy.NONE,
                status=JobStatus.DONE,
                prompts_total=answered,
                prompts_done=answered,
                started=now,
                finished=now,
                engine=IMPORTED_ENGINE,
                source_file=Path(filename).name[:255],
            )
            stored = 0
            batch: list[Sample] = []
            for prompt, responses in _matches(source, prompts):
                stored += 1
                batch.extend(
                    Sample(
                        job=job,
                        prompt_id=prompt.pk,
                        turn=turn,
                        index=0,
                        text=storable_text(response),
                        logprob_sum=None,
                        num_tokens=0,
                        finish_reason=Sample.FinishReason.EXTERNAL,
                        kept=True,
                        selected=True,
                    )
                    for turn, response in enumerate(responses, start=1)
                )
                if len(batch) >= _BATCH:
                    Sample.objects.bulk_create(batch)
                    batch = []
            Sample.objects.bulk_create(batch)
            if stored != answered:
                raise GenerationError(f"{filename} changed while it was being imported; nothing imported")
    except OSError as exc:
        raise GenerationError(f"cannot read {path}: {exc.strerror}") from None
    return job
