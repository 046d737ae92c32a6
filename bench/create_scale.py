"""How long does it take to create a campaign of a million comparisons, and to import 500,000 lines? (issue 31)

    bin/with-services .venv/bin/python bench/create_scale.py [--small 10000] [--large 1000000]
        [--lines 500000] [--answer-chars 300] [--skip-imports] [--skip-job]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server); it migrates
that database and builds its own data there. What it times, each with the process's peak RSS after it:
- creation: `campaign_create` (the service `create_campaign` calls) of --small and --large
  comparisons: a set of ceil(size / 3) prompts answered by a baseline and three systems, each
  system against the baseline (three pairs a prompt), two ratings per item, 10 % overlap, a seed.
  The set and its answers (--answer-chars characters each) are written in SQL first and not timed.
  `manage.py serving_check` then recounts the large campaign's counters (its drift is printed).
- the eval-set importer (`eval_set_import`, as `import_eval_set` calls it) on a --lines-line
  contract JSONL file, and the outputs importer (`outputs_import`, as `import_outputs` calls it)
  on a --lines-line `{"prompt_id", "response"}` file for that set.

The large campaign is also built as the web form builds one that size (`job_s`): by the build job,
a batch committed at a time, the runner called in this process (no broker).

The last line is `create_s=… job_s=… import_eval_s=… import_outputs_s=… peak_mb=…`: creation of the
large campaign (in one transaction, then as a job), the two imports, and the peak RSS in MiB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from annotate.build_jobs import campaign_build_start  # noqa: E402
from annotate.build_runner import campaign_build_run  # noqa: E402
from annotate.services import campaign_create  # noqa: E402
from bench.pg_stats import analyze_filled  # noqa: E402
from core.models import JobStatus  # noqa: E402
from eval_sets.models import EvalSet, Prompt  # noqa: E402
from eval_sets.services import eval_set_import  # noqa: E402
from generation.models import GenerationJob, ModelSpec, Sample  # noqa: E402
from generation.outputs_import import outputs_import  # noqa: E402

SYSTEMS = ("base", "sys-1", "sys-2", "sys-3")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def answered_set(name: str, n_prompts: int, answer_chars: int, systems: tuple[str, ...] = SYSTEMS) -> EvalSet:
    """A set of `n_prompts` prompts with a selected answer from each of `systems`, written in SQL."""
    es = EvalSet.objects.create(name=name, version=1, content_hash=name, source_format="jsonl")
    filler = "x" * max(0, answer_chars - 40)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Prompt._meta.db_table} (eval_set_id, uid, position, category, setting, text,"
            " variant_of, stop, metadata, turns) SELECT %s, 'p' || g, g,"
            " (ARRAY['writing', 'coding', 'math'])[1 + g %% 3], 'zero_shot', 'Prompt number ' || g, '',"
            " '[]', '{}', '[]' FROM generate_series(0, %s) g",
            [es.pk, n_prompts - 1],
        )
        for system in systems:
            model, _ = ModelSpec.objects.get_or_create(name=system, defaults={"path": "/bench/" + system})
            job = GenerationJob.objects.create(model=model, eval_set=es, status=JobStatus.DONE)
            cursor.execute(
                f"INSERT INTO {Sample._meta.db_table} (job_id, prompt_id, turn, index, text, prompt_token_ids,"
                " token_ids, num_tokens, finish_reason, kept, selected) SELECT %s, p.id, 1, 0,"
                " %s || ' answers ' || p.uid || ': ' || %s, '[]', '[]', 0, 'eos', true, true"
                f" FROM {Prompt._meta.db_table} p WHERE p.eval_set_id = %s",
                [job.pk, system, filler, es.pk],
            )
        analyze_filled()
    return es


def create(label: str, size: int, answer_chars: int, *, job: bool = False) -> float:
    """Seconds to build the campaign: by `campaign_create` in one transaction, or (`job`) as the web
    form builds a large one, by the build job (annotate.build_runner, in this process), batch by batch."""
    es = answered_set(f"create-{label}", -(-size // (len(SYSTEMS) - 1)), answer_chars)
    options: dict[str, Any] = {
        "eval_set": es, "systems": list(SYSTEMS), "baseline": SYSTEMS[0], "ratings_per_comparison": 2,
    }  # fmt: skip
    start = time.perf_counter()
    if job:
        campaign = campaign_create(name=f"create-{label}", overlap=0.1, build=False, **options)
        build = campaign_build_run(build_id=campaign_build_start(campaign=campaign, seed=1).pk)
        if build.status != JobStatus.DONE:
            raise SystemExit(f"the build job ended {build.status}: {build.error}")
    else:
        campaign = campaign_create(name=f"create-{label}", overlap=0.1, seed=1, **options)
    seconds = time.perf_counter() - start
    n = campaign.comparisons.count()
    out = io.StringIO()
    call_command("serving_check", "--campaign", campaign.name, stdout=out)
    drift = out.getvalue().strip().splitlines()[-1]
    print(
        f"create {label}: {n} comparisons in {seconds:.1f} s ({n / seconds:,.0f}/s); serving_check {drift};"
        f" peak RSS so far {peak_mb():.0f} MiB",
        flush=True,
    )
    return seconds


def imports(lines: int, folder: Path) -> tuple[float, float]:
    """Seconds for the eval-set import of a `lines`-line file, then the outputs import for it."""
    set_file = folder / "big-set.jsonl"
    with set_file.open("w") as f:
        for i in range(lines):
            record: dict[str, object] = {
                "id": f"q{i}", "category": ("writing", "coding", "math")[i % 3], "setting": "zero_shot",
                "prompt": f"Question {i}: explain something in a few sentences.", "variant_of": None, "stop": [],
                "source": "bench",
            }  # fmt: skip
            f.write(json.dumps(record) + "\n")
    start = time.perf_counter()
    result = eval_set_import(path=set_file, name="big-set", max_bytes=set_file.stat().st_size)
    import_eval_s = time.perf_counter() - start
    print(
        f"import eval set: {result.prompt_count} prompts ({set_file.stat().st_size / 2**20:.0f} MiB) in"
        f" {import_eval_s:.1f} s; peak RSS so far {peak_mb():.0f} MiB",
        flush=True,
    )
    outputs_file = folder / "big-outputs.jsonl"
    with outputs_file.open("w") as f:
        for i in range(lines):
            f.write(
                json.dumps({"prompt_id": f"q{i}", "response": f"An answer to question {i}, in words."}) + "\n"
            )
    start = time.perf_counter()
    job = outputs_import(model_name="big-outputs", eval_set=result.eval_set, path=outputs_file)
    import_outputs_s = time.perf_counter() - start
    print(
        f"import outputs: {job.samples.count()} answers in {import_outputs_s:.1f} s;"
        f" peak RSS so far {peak_mb():.0f} MiB",
        flush=True,
    )
    return import_eval_s, import_outputs_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--answer-chars", type=int, default=300)
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument(
        "--skip-job", action="store_true", help="do not build the large campaign as a job too"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print("create_s=na job_s=na import_eval_s=na import_outputs_s=na peak_mb=na")
        sys.exit(1)
    call_command("migrate", verbosity=0)
    create("small", args.small, args.answer_chars)
    create_s = create("large", args.large, args.answer_chars)
    job_s = float("nan") if args.skip_job else create("large-job", args.large, args.answer_chars, job=True)
    import_eval_s = import_outputs_s = float("nan")
    if not args.skip_imports:
        with tempfile.TemporaryDirectory() as folder:
            import_eval_s, import_outputs_s = imports(args.lines, Path(folder))
    print(
        f"create_s={create_s:.1f} job_s={job_s:.1f} import_eval_s={import_eval_s:.1f} import_outputs_s={import_outputs_s:.1f}"
        f" peak_mb={peak_mb():.0f}"
    )


if __name__ == "__main__":
    main()
