"""Flan-style mixtures: tasks, instruction templates, rendering formats and mixing.

Pure Python (no Django, no torch) and deterministic for a seed, so that a job can be
re-rendered identically when it resumes and the rules can be tested exhaustively.
``loading`` reads and validates files, ``sampling`` mixes and draws, ``rendering`` turns one
example into text; the public names of all three are here.
"""

from __future__ import annotations

from finetune.mixture.loading import (
    DEMO_MIXTURE,
    TEMPLATES_DIR,
    builtin_template_files,
    load_mixture,
    load_task_type,
    load_template_files,
    validate_data,
)
from finetune.mixture.rendering import (
    COT_ANSWER_PREFIX,
    DELIMITERS,
    OPTION_STYLES,
    RenderedExample,
    cot_target,
    eligible_formats,
    parse_cot_answer,
    render,
    render_example,
)
from finetune.mixture.sampling import describe, mixing_rates, sample_mixture
from finetune.mixture.schema import (
    COMMON_PLACEHOLDERS,
    FORMATS,
    Mixture,
    MixtureError,
    SubMixture,
    Task,
    TaskType,
    Template,
)

__all__ = [
    "COMMON_PLACEHOLDERS",
    "COT_ANSWER_PREFIX",
    "DELIMITERS",
    "DEMO_MIXTURE",
    "FORMATS",
    "OPTION_STYLES",
    "TEMPLATES_DIR",
    "Mixture",
    "MixtureError",
    "RenderedExample",
    "SubMixture",
    "Task",
    "TaskType",
    "Template",
    "builtin_template_files",
    "cot_target",
    "describe",
    "eligible_formats",
    "load_mixture",
    "load_task_type",
    "load_template_files",
    "mixing_rates",
    "parse_cot_answer",
    "render",
    "render_example",
    "sample_mixture",
    "validate_data",
]
