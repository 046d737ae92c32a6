"""Where a campaign build's time goes on PostgreSQL, side by side in one run (issue 31).

    bin/with-services .venv/bin/python bench/create_profile.py [--size 100000] [--rounds 2]

Builds the same campaign (`campaign_create`, as bench/create_scale.py: a baseline and three
systems, --size comparisons) under a few variants of the schema, in turn, for --rounds rounds,
emptying the tables after each build so that every variant starts from the same tables:
- `now`: the schema as migrated;
- `fk`: with database constraints on Comparison's prompt, system and sample keys put back (as
  before annotate 0017);
- `no_triggers`: serving's tally triggers disabled (what they cost; not a real option);
- `no_random_indexes`: without serving's pool index, led by the random order_key;
- `no_texts`: the texts' rows dropped by a trigger as they arrive (what storing them costs);
- `no_writes`: the rows drawn but not written (the reads and the Python work alone).
For each it prints wall seconds and the CPU seconds of this process and of its PostgreSQL backend
(CPU is steadier than wall on a shared machine; a build that reads its answers ahead does so on a
second backend, whose CPU is not counted). The last line gives each variant's median wall and
backend CPU seconds per 100,000 comparisons: `now_s=… now_pg_cpu=… fk_s=… …`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from annotate.services import campaign_create  # noqa: E402
from annotate.services import comparison_batches as batches  # noqa: E402
from bench.create_scale import SYSTEMS, answered_set  # noqa: E402

KEYS = {"prompt_id": "eval_sets_prompt", "system_a_id": "generation_modelspec",
        "system_b_id": "generation_modelspec", "sample_a_id": "generation_sample",
        "sample_b_id": "generation_sample"}  # fmt: skip


def backend_cpu() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sql(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def fk_on() -> None:
    sql(*(f"ALTER TABLE annotate_comparison ADD CONSTRAINT bench_fk_{c} FOREIGN KEY ({c}) REFERENCES {t} (id)"
          " DEFERRABLE INITIALLY DEFERRED" for c, t in KEYS.items()))  # fmt: skip


def fk_off() -> None:
    sql(*(f"ALTER TABLE annotate_comparison DROP CONSTRAINT bench_fk_{c}" for c in KEYS))


# The index led by the random order_key that a comparison's insert must place at a random spot
# (serving's pool), dropped for a variant and made again after it.
RANDOM_INDEXES = ("comparison_pool",)


def _index_definitions(names: tuple[str, ...]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [list(names)])
        return [d for (d,) in cursor.fetchall()]


def no_random_indexes() -> Callable[[], None]:
    definitions = _index_definitions(RANDOM_INDEXES)
    sql(*(f"DROP INDEX {name}" for name in RANDOM_INDEXES))
    return lambda: sql(*definitions)


def no_texts() -> Callable[[], None]:
    # Each text row is dropped by a BEFORE trigger: what is left is the COPY's parsing (and the trigger).
    sql(
        "CREATE FUNCTION bench_drop_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$",
        "CREATE TRIGGER bench_drop_texts BEFORE INSERT ON annotate_comparisontexts FOR EACH ROW"
        " EXECUTE FUNCTION bench_drop_row()",
    )
    return lambda: sql(
        "DROP TRIGGER bench_drop_texts ON annotate_comparisontexts", "DROP FUNCTION bench_drop_row()"
    )


def no_copy() -> Callable[[], None]:
    real = batches.ComparisonBatches._copy
    batches.ComparisonBatches._copy = lambda self, rows: None  # type: ignore[method-assign]

    def undo() -> None:
        batches.ComparisonBatches._copy = real  # type: ignore[method-assign]

    return undo


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="the variants to run (all by default)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("needs PostgreSQL: run it under bin/with-services")
        sys.exit(1)
    call_command("migrate", verbosity=0)
    es = answered_set("profile", -(-args.size // (len(SYSTEMS) - 1)), 300)
    variants: dict[str, tuple[Callable[[], object], Callable[[], None]]] = {
        "now": (lambda: None, lambda: None),
        "fk": (fk_on, fk_off),
        "no_triggers": (
            lambda: sql("ALTER TABLE annotate_comparison DISABLE TRIGGER USER"),
            lambda: sql("ALTER TABLE annotate_comparison ENABLE TRIGGER USER"),
        ),
        "no_random_indexes": (no_random_indexes, lambda: None),
        "no_texts": (no_texts, lambda: None),
        "no_writes": (no_copy, lambda: None),
    }
    if args.only:
        variants = {name: variants[name] for name in args.only}
    walls: dict[str, list[float]] = {v: [] for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}
    for round_ in range(args.rounds):
        for name, (before, after) in variants.items():
            undo = before()
            own0, pg0, start = resource.getrusage(resource.RUSAGE_SELF), backend_cpu(), time.perf_counter()
            campaign = campaign_create(
                name=f"profile-{name}-{round_}", eval_set=es, systems=list(SYSTEMS), baseline=SYSTEMS[0],
                ratings_per_comparison=2, overlap=0.1, seed=1,
            )  # fmt: skip
            wall = time.perf_counter() - start
            own1, pg = resource.getrusage(resource.RUSAGE_SELF), backend_cpu() - pg0
            own = own1.ru_utime - own0.ru_utime + own1.ru_stime - own0.ru_stime
            if callable(undo):
                undo()
            after()
            sql(f"TRUNCATE annotate_campaign, annotate_servingtally CASCADE -- {campaign.pk}")
            scale = 100_000 / args.size
            walls[name].append(wall * scale)
            cpus[name].append(pg * scale)
            print(f"round {round_ + 1} {name:12s} wall {wall:6.2f} s  python cpu {own:6.2f} s  postgres cpu {pg:6.2f} s",
                  flush=True)  # fmt: skip
    print(" ".join(
        f"{name}_s={statistics.median(walls[name]):.2f} {name}_pg_cpu={statistics.median(cpus[name]):.2f}"
        for name in variants
    ))  # fmt: skip


if __name__ == "__main__":
    main()
