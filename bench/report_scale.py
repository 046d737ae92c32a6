"""The report of a campaign of a million ratings: `report --format json` time and peak memory (issue 31).

    bin/with-services .venv/bin/python bench/report_scale.py [--sizes 100000 1000000] [--profile] [--before DIR]

Needs PostgreSQL (DATABASE_URL, as bin/with-services sets it on a throwaway server). For each size it
builds a two-system campaign with two ratings per comparison: 1,000 prompts through the services
(bench/rating_scale.py's build), then prompts, comparisons, their texts (each answer made distinct,
about 700 characters with Markdown) and ratings copied in SQL up to the size, so a million ratings
cover 500,000 prompts. It then runs `manage.py report --campaign NAME --format json --out FILE` in a
child process and reports its wall time (interpreter start included) and its peak resident memory.
`--profile` runs the report in-process under cProfile instead and prints the top of the profile.
`--before DIR` also reports each campaign with the code checked out at DIR (e.g. `git worktree add DIR
COMMIT`), after ours, in the same way.

Last line: `report_s=… report_peak_mb=…` for the largest size (before it, one line per size).
"""

from __future__ import annotations

import argparse
import os
import subprocess
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

from django.db import connection  # noqa: E402

from annotate.models import Campaign, Comparison, ComparisonTexts  # noqa: E402
from bench.pg_stats import analyze_filled  # noqa: E402
from eval_sets.models import Prompt  # noqa: E402

_BASE = 1000  # prompts built through the services; the rest are SQL copies of them
_RATERS = 20
# A realistic answer: about 700 characters with headers, list items, bold spans and a code fence.
_ANSWER = (
    "## Summary\n\nHere is **the short answer** and then the details.\n\n- first point, explained at length\n"
    "- second point, with a caveat\n1. step one\n2. step two\n\n```python\n# a comment, not a header\n"
    "print('- not a list item')\n```\n\n" + "Some ordinary prose to give the answer a realistic length. " * 7
)
_CHILD = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.management import call_command
call_command("report", campaign={name!r}, fmt="json", out={out!r})
print("peak_kb=%d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _columns(model: Any, fresh: dict[str, str], alias: str) -> tuple[str, str]:
    fields = [str(f.column) for f in model._meta.concrete_fields if not (f.primary_key and f.column == "id")]
    return ", ".join(fields), ", ".join(fresh.get(column, f"{alias}.{column}") for column in fields)


def build_ratings(name: str, size: int) -> Campaign:
    """A two-system campaign with `size` ratings (two per comparison, by two of `_RATERS` raters)."""
    from bench.rating_scale import build  # here, not at the top: its import sets Django up as ours does

    campaign, raters, _ = build(name, _BASE, _RATERS)
    rater_ids = ",".join(str(r.pk) for r in raters)
    copies = max(0, -(-size // (2 * _BASE)) - 1)
    cid, es = campaign.pk, campaign.eval_set_id
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotate_comparisontexts t SET text_a = %s || t.text_a, text_b = %s || t.text_b"
            " FROM annotate_comparison c WHERE c.id = t.comparison_id AND c.campaign_id = %s",
            [_ANSWER, _ANSWER.replace("**", "", 2), cid],
        )
    # The originals' texts changed: count them again, every count of both answers, before they are
    # copied. (comparison_texts_style_fill counts rated texts only, and none is rated yet: the copies got
    # their lengths and no Markdown counts, which a report took for counts and fitted as NaN.)
    originals = list(ComparisonTexts.objects.filter(comparison__campaign=campaign))
    for row in originals:
        row.style_count()
    ComparisonTexts.objects.bulk_update(originals, [*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B])
    with connection.cursor() as cursor:
        columns, values = _columns(
            Prompt, {"uid": "p.uid || '-' || g", "position": f"p.position + g * {_BASE}"}, "p"
        )
        cursor.execute(
            f"INSERT INTO eval_sets_prompt ({columns}) SELECT {values} FROM eval_sets_prompt p,"
            " generate_series(1, %s) g WHERE p.eval_set_id = %s",
            [copies, es],
        )
        fresh = {
            "order_key": "floor(random() * 2147483647)::bigint",
            "prompt_id": "np.id",
            "system_on_left": "(ARRAY['a', 'b'])[1 + floor(random() * 2)::int]",
        }
        columns, values = _columns(Comparison, fresh, "c")
        cursor.execute(
            f"INSERT INTO annotate_comparison ({columns}) SELECT {values} FROM annotate_comparison c"
            " JOIN eval_sets_prompt op ON op.id = c.prompt_id CROSS JOIN generate_series(1, %s) g"
            f" JOIN eval_sets_prompt np ON np.eval_set_id = op.eval_set_id AND np.position = op.position + g * {_BASE}"
            " WHERE c.campaign_id = %s",
            [copies, cid],
        )
        # Each copy's texts are its original's, made distinct (no two answers alike, as in a real campaign).
        fresh = {
            "comparison_id": "c.id",
            "text_a": "t.text_a || ' (' || c.id || ')'",
            "text_b": "t.text_b || ' [' || c.id || ']'",
        }
        # The copies' style counts are their originals' (the suffix adds no Markdown) but for the length, as
        # comparisons_create would have stored them.
        fresh["style_a_length"] = "char_length(t.text_a || ' (' || c.id || ')')"
        fresh["style_b_length"] = "char_length(t.text_b || ' [' || c.id || ']')"
        columns, values = _columns(ComparisonTexts, fresh, "t")
        cursor.execute(
            f"INSERT INTO annotate_comparisontexts ({columns}) SELECT {values} FROM annotate_comparison c"
            " JOIN eval_sets_prompt np ON np.id = c.prompt_id"
            " JOIN eval_sets_prompt op ON op.eval_set_id = np.eval_set_id"
            f" AND op.position = np.position %% {_BASE}"
            " JOIN annotate_comparison oc ON oc.prompt_id = op.id AND oc.campaign_id = c.campaign_id"
            " JOIN annotate_comparisontexts t ON t.comparison_id = oc.id"
            " WHERE c.campaign_id = %s AND c.id <> oc.id",
            [cid],
        )
        # Two ratings per comparison by two different raters; choices weighted 4:3:2:1 (a, b, tie, both bad).
        cursor.execute(
            "INSERT INTO annotate_rating (comparison_id, campaign_id, rater_id, choice, side, comment, seconds,"
            " too_fast, created) SELECT id, campaign_id, rater, choice,"
            " CASE WHEN choice IN ('tie', 'both_bad') THEN choice WHEN choice = system_on_left THEN 'left'"
            " ELSE 'right' END, '', seconds, false, created FROM ("
            f"  SELECT c.id, c.campaign_id, c.system_on_left, (ARRAY[{rater_ids}])[1 + (c.id + r * 7) %% {_RATERS}]"
            "  AS rater, (ARRAY['a', 'a', 'a', 'a', 'b', 'b', 'b', 'tie', 'tie', 'both_bad'])"
            "  [1 + floor(random() * 10)::int] AS choice, round((2 + random() * 60)::numeric, 2)::float AS seconds,"
            "  now() - (c.id * 2 + r) * interval '1 second' AS created"
            "  FROM annotate_comparison c, generate_series(0, 1) r WHERE c.campaign_id = %s"
            "  ORDER BY c.id, r LIMIT %s) s",
            [cid, size],
        )
        analyze_filled()
    return campaign


def report(campaign: Campaign, root: Path = ROOT) -> tuple[float, float]:
    """(seconds, peak MB) of `manage.py report --campaign NAME --format json` in a child process running
    the checkout at ``root`` (another checkout: the same campaign reported by other code)."""
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "report.json")
        code = _CHILD.format(root=str(root), name=campaign.name, out=out)
        start = time.perf_counter()
        # Run from ``root``: the environment's import hooks put the working directory first on sys.path.
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, cwd=str(root)
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"report failed: {done.stderr[-2000:]}")
        peak_kb = int(done.stdout.strip().rsplit("peak_kb=", 1)[1])
    return seconds, peak_kb / 1024


def profile(campaign: Campaign) -> None:
    import cProfile
    import pstats

    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as folder:
        profiler = cProfile.Profile()
        profiler.enable()
        call_command("report", campaign=campaign.name, fmt="json", out=str(Path(folder) / "r.json"))
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of earlier code (same database schema): its report of the same campaign, side by side",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services (or with DATABASE_URL)")
        print("report_s=na report_peak_mb=na")
        sys.exit(1)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    figures = before = (0.0, 0.0)
    for size in args.sizes:
        start = time.perf_counter()
        campaign = build_ratings(f"report-{size}", size)
        built = time.perf_counter() - start
        if args.profile:
            profile(campaign)
            continue
        figures = report(campaign)
        print(
            f"{size} ratings: built in {built:.1f} s; report {figures[0]:.1f} s, peak {figures[1]:.0f} MB",
            flush=True,
        )
        if args.before:
            before = report(campaign, args.before)
            print(f"{size} ratings, before: report {before[0]:.1f} s, peak {before[1]:.0f} MB", flush=True)
    extra = f" before_s={before[0]:.1f} before_peak_mb={before[1]:.0f}" if args.before else ""
    print(f"report_s={figures[0]:.1f} report_peak_mb={figures[1]:.0f}{extra}")


if __name__ == "__main__":
    main()
