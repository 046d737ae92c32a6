"""Procedural tasks for the demo mixture: correct by construction, deterministic for a seed.

    python -m finetune.generators [--out finetune/data/tasks] [--seed 0]

writes arithmetic.jsonl (multi-step word problems with worked steps), dates.jsonl
(date arithmetic with worked steps) and sorting.jsonl. Pure Python, no Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TASKS_DIR = Path(__file__).resolve().parent / "data" / "tasks"

_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Ema", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemi", "Leo"]
_ITEMS = [
    ("apples", "basket"),
    ("marbles", "jar"),
    ("stickers", "album"),
    ("books", "shelf"),
    ("pencils", "box"),
    ("cookies", "tin"),
    ("stamps", "folder"),
    ("shells", "bucket"),
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WORDS = (  # noqa: SIM905
    "apple river candle zebra mango violin pepper quartz lemon harbor tiger orbit cactus "
    "falcon walnut meadow copper bridge lantern velvet island pillow rocket saddle tunnel "
    "garden button dragon forest ginger hammer jacket kettle ladder magnet needle oyster "
    "parrot rabbit silver turnip umbrella wagon yogurt anchor biscuit cobweb dolphin "
).split()


def _arith_problem(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(_NAMES)
    thing, holder = rng.choice(_ITEMS)
    kind = rng.randrange(4)
    a = rng.randint(5, 60)
    if kind == 0:
        b, c = rng.randint(2, 30), rng.randint(1, 20)
        c = min(c, a + b)
        total = a + b - c
        q = (
            f"{name} has {a} {thing}. {name} gets {b} more and then gives away {c}. "
            f"How many {thing} does {name} have now?"
        )
        steps = f"{name} starts with {a} {thing}. After getting {b} more, {name} has {a} + {b} = {a + b}. After giving away {c}, {name} has {a + b} - {c} = {total}."
    elif kind == 1:
        n, per = rng.randint(2, 9), rng.randint(2, 12)
        extra = rng.randint(1, 15)
        total = n * per + extra
        q = (
            f"There are {n} {holder}s with {per} {thing} in each, and {extra} loose {thing}. "
            f"How many {thing} are there in total?"
        )
        steps = f"The {holder}s hold {n} x {per} = {n * per} {thing}. Adding the {extra} loose ones gives {n * per} + {extra} = {total}."
    elif kind == 2:
        per = rng.randint(2, 9)
        groups = rng.randint(2, 12)
        a = per * groups
        spent = rng.randint(1, groups - 1)
        total = (groups - spent) * per
        q = (
            f"{name} shares {a} {thing} equally among {groups} friends. {spent} of the friends give their "
            f"{thing} back. How many {thing} are still with the friends?"
        )
        steps = f"Each friend gets {a} / {groups} = {per} {thing}. {groups} - {spent} = {groups - spent} friends keep theirs, so {groups - spent} x {per} = {total}."
    else:
        price, qty = rng.randint(2, 15), rng.randint(2, 8)
        paid = price * qty + rng.randint(0, 30)
        total = paid - price * qty
        q = (
            f"{name} buys {qty} {thing} at {price} dollars each and pays with {paid} dollars. "
            f"How much change does {name} get?"
        )
        steps = f"The {thing} cost {qty} x {price} = {price * qty} dollars. The change is {paid} - {price * qty} = {total} dollars."
    return {"question": q, "rationale": steps, "answer": str(total)}


def arithmetic(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"arith:{seed}")
    return [{"id": f"arith-{i}", **_arith_problem(rng)} for i in range(n)]


def _date_problem(rng: random.Random) -> dict[str, Any]:
    start = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(365 * 6))
    days = rng.choice([rng.randint(1, 9), rng.randint(10, 40), 7 * rng.randint(1, 6)])
    sign = rng.choice([1, -1])
    end = start + dt.timedelta(days=sign * days)
    when = "after" if sign > 0 else "before"
    if rng.random() < 0.5:
        weekday = _WEEKDAYS[start.weekday()]
        shift = (sign * days) % 7
        answer = _WEEKDAYS[end.weekday()]
        q = f"Today is a {weekday}. What day of the week will it be {days} days {'from now' if sign > 0 else 'ago'}?"
        if sign < 0:
            q = f"Today is a {weekday}. What day of the week was it {days} days ago?"
        steps = (
            f"A week has 7 days, so only the remainder matters: {days} = {days // 7} x 7 + {days % 7}. "
            f"Moving {'forward' if sign > 0 else 'back'} {days % 7} days from {weekday} "
            + (f"(the same as {shift} days forward) " if sign < 0 else "")
            + f"gives {answer}."
        )
        return {"question": q, "rationale": steps, "answer": answer}
    fmt = "%B %d, %Y"
    answer = end.strftime(fmt).replace(" 0", " ")
    start_s = start.strftime(fmt).replace(" 0", " ")
    q = f"What is the date {days} days {when} {start_s}?"
    # The worked steps move month by month so each step can be checked by hand.
    steps_list = []
    cur, left = start, days
    while left > 0:
        if sign > 0:
            next_month = (cur.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            gap = (next_month - cur).days
        else:
            gap = cur.day
        if left >= gap:
            new = cur + dt.timedelta(days=sign * gap)
            steps_list.append(
                f"{gap} days {when} {cur.strftime(fmt).replace(' 0', ' ')} is {new.strftime(fmt).replace(' 0', ' ')}"
            )
            cur, left = new, left - gap
        else:
            new = cur + dt.timedelta(days=sign * left)
            lead = f"{left} more days {when} that" if steps_list else f"{left} days {when} {start_s}"
            steps_list.append(f"{lead} is {new.strftime(fmt).replace(' 0', ' ')}")
            cur, left = new, 0
    assert cur == end
    steps = "; ".join(steps_list) + "."
    return {"question": q, "rationale": steps[0].upper() + steps[1:], "answer": answer}


def dates(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"dates:{seed}")
    return [{"id": f"date-{i}", **_date_problem(rng)} for i in range(n)]


def sorting(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"sort:{seed}")
    out = []
    for i in range(n):
        k = rng.randint(3, 7)
        if rng.random() < 0.5:
            words = rng.sample(_WORDS, k)
            out.append(
                {
                    "id": f"sort-{i}",
                    "items": ", ".join(words),
                    "order": "alphabetical order",
                    "answer": ", ".join(sorted(words)),
                }
            )
        else:
            nums = rng.sample(range(1, 200), k)
            descending = rng.random() < 0.4
            out.append(
                {
                    "id": f"sort-{i}",
                    "items": ", ".join(map(str, nums)),
                    "order": "descending order" if descending else "ascending order",
                    "answer": ", ".join(map(str, sorted(nums, reverse=descending))),
                }
            )
    return out


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_all(out: Path = TASKS_DIR, *, seed: int = 0, n: int = 1500) -> dict[str, int]:
    return {
        "arithmetic.jsonl": write_jsonl(out / "arithmetic.jsonl", arithmetic(n, seed)),
        "dates.jsonl": write_jsonl(out / "dates.jsonl", dates(n, seed)),
        "sorting.jsonl": write_jsonl(out / "sorting.jsonl", sorting(n, seed)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=TASKS_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=1500)
    args = parser.parse_args()
    for name, count in write_all(args.out, seed=args.seed, n=args.n).items():
        print(f"{name}: {count} examples")


if __name__ == "__main__":
    main()
