"""create_campaign NAME --eval-set NAME --systems A B [C ...] [--ratings-per-item K] [--overlap F] [--raters u1,u2]
[--stop-when-settled [--precision W] [--max-ratings N] [--equivalence-margin M]]
[--min-effect P] [--power Q] [--alpha A] [--sample N [--sample-seed S]] [--categories a,b]
[--rate per-turn|conversation] [--no-progress]"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from analysis.stats.planning import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, DEFAULT_POWER
from annotate.feasibility import campaign_feasibility
from annotate.sampling import campaign_sampling_text
from annotate.services import CampaignError, campaign_create
from eval_sets.selectors import eval_set_resolve


class Command(BaseCommand):
    help = "Create and build a blind side-by-side rating campaign from each system's selected samples."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--eval-set", required=True, help="NAME (newest version) or NAME@vN")
        parser.add_argument("--systems", nargs="+", required=True, help="two or more registered systems")
        parser.add_argument("--ratings-per-item", type=int, default=1)
        parser.add_argument(
            "--overlap", type=float, default=0.0, help="fraction of items rated by >= 3 raters"
        )
        parser.add_argument("--raters", default="", help="comma-separated usernames of raters")
        parser.add_argument("--baseline", help="compare each system against this one (it is listed first)")
        parser.add_argument("--gold", type=float, default=0.0, help="fraction of served items that are gold")
        parser.add_argument("--title", default="", help="the name raters see")
        parser.add_argument(
            "--seed", type=int, help="seed for left/right sides and overlap (reproducible builds)"
        )
        parser.add_argument("--open", action="store_true", help="open the campaign to raters now")
        parser.add_argument(
            "--stop-when-settled",
            action="store_true",
            help="close cells and the campaign once their anytime-valid interval settles; serve open cells",
        )
        parser.add_argument(
            "--precision", type=float, help="with --stop-when-settled: an interval this narrow is settled too"
        )
        parser.add_argument(
            "--max-ratings",
            type=int,
            help="with --stop-when-settled: stop after N ratings even if not settled (reported as not settled, "
            "with the interval)",
        )
        parser.add_argument(
            "--equivalence-margin",
            type=float,
            help="with --stop-when-settled: settle as 'no meaningful difference' once the interval lies "
            "inside 0.5 +- M",
        )
        parser.add_argument(
            "--min-effect",
            type=float,
            default=DEFAULT_MIN_EFFECT,
            help=f"the plan: smallest preference rate worth detecting (default {DEFAULT_MIN_EFFECT})",
        )
        parser.add_argument(
            "--power", type=float, default=DEFAULT_POWER, help=f"the plan's power (default {DEFAULT_POWER})"
        )
        parser.add_argument(
            "--alpha",
            type=float,
            default=DEFAULT_ALPHA,
            help=f"the plan's alpha, also the intervals' level (default {DEFAULT_ALPHA})",
        )
        parser.add_argument(
            "--sample",
            type=int,
            help="rate N prompts drawn from the set, stratified by category and setting (a CoT variant "
            "comes with its base prompt)",
        )
        parser.add_argument(
            "--sample-seed", type=int, help="seed of the sample (drawn and recorded if not given)"
        )
        parser.add_argument(
            "--categories", default="", help="comma-separated categories to rate (default: all)"
        )
        parser.add_argument(
            "--answered-only",
            action="store_true",
            help="rate only the prompts every system answered (e.g. after generate --limit)",
        )
        parser.add_argument(
            "--rate",
            choices=["per-turn", "conversation"],
            default="per-turn",
            help="conversations: rate every turn (default, MT-Bench) or once after the last turn (the Arena)",
        )

        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar while building (there is none when stderr is not a terminal)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            eval_set = eval_set_resolve(spec=options["eval_set"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        usernames = [u.strip() for u in options["raters"].split(",") if u.strip()]
        users = {u.username: u for u in User.objects.filter(username__in=usernames)}
        unknown = [u for u in usernames if u not in users]
        if unknown:
            raise CommandError(f"no user named {', '.join(unknown)}")
        bar = _BuildBar(enabled=not options["no_progress"] and self.stderr.isatty(), out=self.stderr._out)
        try:
            campaign = campaign_create(
                name=options["name"],
                title=options["title"],
                eval_set=eval_set,
                systems=options["systems"],
                baseline=options["baseline"],
                ratings_per_comparison=options["ratings_per_item"],
                overlap=options["overlap"],
                gold_fraction=options["gold"],
                raters=[users[u] for u in usernames],
                seed=options["seed"],
                answered_only=options["answered_only"],
                stop_when_settled=options["stop_when_settled"],
                precision=options["precision"],
                max_ratings=options["max_ratings"],
                equivalence_margin=options["equivalence_margin"],
                min_effect=options["min_effect"],
                power=options["power"],
                alpha=options["alpha"],
                open_now=options["open"],
                sample=options["sample"],
                sample_seed=options["sample_seed"],
                categories=[c for c in options["categories"].split(",") if c.strip()],
                rate=options["rate"],
                progress=bar.update,
            )
        except CampaignError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        n = campaign.comparisons.count()
        self.stdout.write(
            f"campaign {campaign.name} (id {campaign.pk}): {n} comparisons of {', '.join(campaign.system_names())} "
            f"on {eval_set}, status {campaign.status}"
        )
        if campaign.sample_size is not None:
            self.stdout.write(f"prompts: {campaign_sampling_text(campaign=campaign)}")
        for problem in campaign_feasibility(campaign=campaign):
            self.stderr.write(f"warning: this campaign cannot be finished as it stands: {problem}")


class _BuildBar:
    """tqdm's bar over the comparisons written, on stderr; made at the first batch, when the total is known."""

    def __init__(self, *, enabled: bool, out: Any) -> None:
        self.enabled, self.out = enabled, out
        self.bar: Any = None

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc="Building", unit=" comparisons", file=self.out)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
