"""A generation job's defaults and their rule come from generation/params.py, wherever they are typed."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from django.db.models import Field

from generation.management.commands.generate import PARAM_OPTIONS, Command
from generation.models import GenerationJob
from generation.params import DEFAULTS, MAX_SAMPLES_PER_PROMPT, GenerationParams
from generation.sampling import SamplingParams

REFUSED: list[tuple[dict[str, object], str]] = [
    ({"samples_per_prompt": 0}, "samples must be at least 1"),
    ({"samples_per_prompt": MAX_SAMPLES_PER_PROMPT + 1}, "samples must be at most 64"),
    ({"temperature": 0.0}, "temperature must be greater than 0 (use a small value for near-greedy output)"),
    ({"top_p": 1.5}, "top_p must be in (0, 1]"),
    ({"top_k": -1}, "top_k must be 0 (off) or positive"),
    ({"max_new_tokens": 0}, "max_new_tokens must be at least 1"),
    ({"min_new_tokens": 300}, "min_new_tokens must be between 0 and max_new_tokens"),
    ({"selection_policy": "best"}, "unknown selection policy 'best': use paper or none"),
    ({"prompt_limit": 0}, "limit must be at least 1 prompt"),
    ({"chunk_size": 0}, "chunk_size must be at least 1"),
]


def test_the_defaults_are_the_papers_setting_and_pass_the_rule():
    assert (DEFAULTS.samples_per_prompt, DEFAULTS.temperature, DEFAULTS.max_new_tokens) == (5, 0.7, 256)
    assert DEFAULTS.problems() == {}


@pytest.mark.parametrize(("change", "message"), REFUSED)
def test_each_refused_value_is_named_by_its_field_with_why(change, message):
    assert replace(DEFAULTS, **change).problems() == {next(iter(change)): message}


def test_the_job_model_the_command_and_the_engine_default_to_the_same_values():
    for field in fields(GenerationParams):
        model_field = GenerationJob._meta.get_field(field.name)
        assert isinstance(model_field, Field)
        assert model_field.get_default() == getattr(DEFAULTS, field.name)
    options = vars(
        Command().create_parser("manage.py", "generate").parse_args(["--model", "m", "--eval-set", "s"])
    )
    assert {name: options[option] for name, option in PARAM_OPTIONS.items()} == vars(DEFAULTS)
    engine = SamplingParams()
    assert (engine.samples, engine.temperature, engine.top_p, engine.top_k) == (5, 0.7, 1.0, 0)
    assert (engine.max_new_tokens, engine.min_new_tokens, engine.seed) == (256, 0, 0)


def test_the_engine_refuses_with_the_same_words():
    with pytest.raises(ValueError, match=r"^top_p must be in \(0, 1\]$"):
        SamplingParams(top_p=0).check()


# The page sets no chunk size, and its policy is a select of the valid ones (Django refuses others).
ON_THE_PAGE = [row for row in REFUSED if next(iter(row[0])) not in ("chunk_size", "selection_policy")]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "message"), ON_THE_PAGE)
def test_the_job_form_shows_the_services_reason_on_the_refused_field(change, message):
    from generation.forms import JobCreateForm

    form = JobCreateForm()
    data = {
        name: value for name, value in vars(DEFAULTS).items() if name in form.fields and value is not None
    }
    form = JobCreateForm(data={**data, **change})
    assert not form.is_valid()
    (name,) = change
    assert form.errors[name] == [message]
