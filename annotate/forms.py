from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User

from analysis.stats.planning import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, DEFAULT_POWER
from annotate.errors import CampaignFieldError
from annotate.models import DEFAULT_INSTRUCTIONS, DEFAULT_MIN_SECONDS, Campaign
from annotate.services import campaign_settling_check
from core.roles import RATERS
from core.users import USERNAME_HELP
from eval_sets.models import EvalSet
from generation.answered import Coverage, systems_coverage
from generation.models import ModelSpec

# The stopping rules and the plan (annotate.services.campaign_settling_check checks them).
STOP_FIELDS = ("precision", "max_ratings", "equivalence_margin")
PLAN_FIELDS = ("min_effect", "power", "alpha")
PLAN_DEFAULTS = (DEFAULT_MIN_EFFECT, DEFAULT_POWER, DEFAULT_ALPHA)


def _sentence(exc: Exception) -> str:
    return f"{str(exc)[0].upper()}{str(exc)[1:]}."


def rater_users() -> Any:
    return User.objects.filter(groups__name=RATERS, is_active=True).order_by("username")


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Researchers see this; raters never do.")
    title = forms.CharField(max_length=200, required=False, help_text="What raters see (optional).")
    eval_set = forms.ModelChoiceField(queryset=EvalSet.objects.all(), label="Evaluation set version")
    systems = forms.ModelMultipleChoiceField(
        queryset=ModelSpec.objects.all(), widget=forms.CheckboxSelectMultiple, help_text="Two or more."
    )
    baseline = forms.ModelChoiceField(
        queryset=ModelSpec.objects.all(),
        required=False,
        help_text="Listed first, and the reports' default baseline. Needed for 'each against the baseline'.",
    )
    pairing = forms.ChoiceField(choices=Campaign.Pairing.choices, initial=Campaign.Pairing.ALL_PAIRS)
    rate = forms.ChoiceField(
        choices=Campaign.Rate.choices,
        initial=Campaign.Rate.PER_TURN,
        required=False,
        label="Conversations: rate",
        help_text="For multi-turn prompts: every turn, shown with the conversation up to it (MT-Bench), "
        "or once after the last turn (Chatbot Arena). Single-turn prompts are rated once either way.",
    )
    ratings_per_comparison = forms.IntegerField(min_value=1, max_value=50, initial=1)
    overlap = forms.FloatField(
        min_value=0,
        max_value=1,
        initial=0.1,
        help_text="Fraction of comparisons rated by at least 3 different raters, to measure agreement: "
        "with fewer than 3 raters in the pool these can never be finished (set 0 for none).",
    )
    sample = forms.IntegerField(
        min_value=1,
        required=False,
        label="Sample of prompts",
        help_text="Rate only this many prompts, drawn at random and stratified by category and setting "
        "(a chain-of-thought variant comes with its base prompt). Empty: every prompt.",
    )
    sample_seed = forms.IntegerField(
        required=False,
        help_text="Draws the same sample again; empty: drawn, then shown on the campaign page.",
    )
    categories = forms.CharField(
        required=False, help_text="Comma-separated categories to rate (e.g. writing,coding); empty: all."
    )
    gold_fraction = forms.FloatField(min_value=0, max_value=0.9, initial=0.0)
    quota_per_rater = forms.IntegerField(
        min_value=1, required=False, help_text="Most regular items one rater may rate; empty for no limit."
    )
    min_seconds = forms.FloatField(
        min_value=0,
        max_value=600,
        required=False,
        initial=DEFAULT_MIN_SECONDS,
        label="Minimum reading time (s)",
        help_text="A choice is not taken sooner; faster ratings are flagged. 0 turns it off.",
    )
    answered_only = forms.BooleanField(
        required=False,
        label="Only the prompts every system answered",
        help_text="For generations limited to the first N prompts, or outputs covering part of the set. "
        "Left off, every prompt of the set needs an answer from every system.",
    )
    stop_when_settled = forms.BooleanField(
        required=False,
        label="Stop when settled",
        help_text="Closes a category-by-setting cell, and the campaign when every cell is closed, once its "
        "anytime-valid interval for the preference rate excludes 0.5 (decided) or is narrower than the "
        "precision below; raters are then served from the cells still open.",
    )
    precision = forms.FloatField(
        required=False,
        label="Precision (interval width)",
        help_text="With stop when settled: an interval narrower than this (between 0 and 1, e.g. 0.1) "
        "counts as settled too. Empty: only a decision closes a cell.",
    )
    max_ratings = forms.IntegerField(
        min_value=1,
        required=False,
        label="Cap on ratings",
        help_text="With stop when settled: stop after this many ratings even if not settled (the report "
        "then says 'not settled' and gives the interval). Empty: no cap.",
    )
    equivalence_margin = forms.FloatField(
        required=False,
        label="Equivalence margin",
        help_text="With stop when settled: settle as 'no meaningful difference' once the interval lies "
        "inside 0.5 ± this (e.g. 0.05). Empty: no equivalence stop.",
    )
    min_effect = forms.FloatField(
        required=False,
        initial=DEFAULT_MIN_EFFECT,
        label="Plan: minimum preference worth detecting",
        help_text="A preference rate above 0.5; the page shows the fixed design it implies beside the "
        "ratings the sequential design uses.",
    )
    power = forms.FloatField(required=False, initial=DEFAULT_POWER, label="Plan: power")
    alpha = forms.FloatField(
        required=False,
        initial=DEFAULT_ALPHA,
        label="Plan: alpha",
        help_text="Also the level of the anytime-valid interval.",
    )
    raters = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), initial=DEFAULT_INSTRUCTIONS)
    open_now = forms.BooleanField(
        required=False,
        label="Open it to raters now",
        help_text="Built and opened in one step: if it cannot be opened, nothing is created.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["raters"].queryset = rater_users()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        systems = data.get("systems")
        baseline = data.get("baseline")
        if systems is not None and len(systems) < 2:
            self.add_error("systems", "Choose at least two systems.")
        if baseline is not None and systems is not None and baseline not in systems:
            self.add_error("baseline", "The baseline must be one of the chosen systems.")
        if data.get("pairing") == Campaign.Pairing.VS_BASELINE and baseline is None:
            self.add_error("baseline", "Choose the baseline the others are compared with.")
        try:
            campaign_settling_check(
                stop_when_settled=bool(data.get("stop_when_settled")), **self.settling_options()
            )
        except CampaignFieldError as exc:
            if exc.field not in self.errors:
                self.add_error(exc.field, _sentence(exc))
        if data.get("sample_seed") is not None and data.get("sample") is None:
            self.add_error("sample_seed", "A seed only applies with a sample size.")
        eval_set = data.get("eval_set")
        if eval_set is not None and systems is not None and len(systems) >= 2:
            self.coverage = systems_coverage(eval_set=eval_set, models=systems)
            self._check_coverage(self.coverage, answered_only=bool(data.get("answered_only")))
        return data

    coverage: Coverage | None = None

    def settling_options(self) -> dict[str, Any]:
        """The stopping rules and the plan as ``campaign_create`` takes them (an empty plan field: its default)."""
        data = self.cleaned_data
        plan = {
            f: d if data.get(f) is None else data[f] for f, d in zip(PLAN_FIELDS, PLAN_DEFAULTS, strict=True)
        }
        return {**{f: data.get(f) for f in STOP_FIELDS}, **plan}

    def _check_coverage(self, coverage: Coverage, *, answered_only: bool) -> None:
        missing = [name for name, n in coverage.per_system.items() if n == 0]
        if missing:
            self.add_error(
                "systems",
                f"No finished generation (or imported outputs) on this set for: {', '.join(missing)}.",
            )
        elif coverage.answered_by_all == 0:
            self.add_error(
                "systems", f"No prompt was answered by every chosen system: {coverage.describe()}."
            )
        elif not coverage.complete and not answered_only:
            self.add_error(
                "answered_only",
                f"Not every prompt has an answer: {coverage.describe()}. Tick this to rate those "
                f"{coverage.answered_by_all} prompts only, or generate (or upload) the missing answers.",
            )


class RaterCreateForm(forms.Form):
    username = forms.CharField(max_length=150, help_text=USERNAME_HELP)
    password = forms.CharField(
        widget=forms.PasswordInput,
        min_length=8,
        help_text="At least 8 characters, not a common or all-digit one, not like the username; give it to the rater.",
    )


class GoldUploadForm(forms.Form):
    file = forms.FileField(
        help_text=(
            "JSONL, one pair a line (or one JSON array), UTF-8, at most "
            f"{settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MiB: "
            '{"prompt_id", "text_a", "text_b", "answer": "a"|"b"|"tie"|"both_bad"}'
        )
    )


class CampaignEditForm(forms.Form):
    """What may change on a campaign after creation (annotate.services.campaign_edit has the rules)."""

    title = forms.CharField(max_length=200, required=False, help_text="What raters see (optional).")
    ratings_per_comparison = forms.IntegerField(
        min_value=1,
        max_value=50,
        help_text="Once raters have been served items it can only go up: every item then needs at least "
        "this many ratings (overlap items at least 3).",
    )
    overlap = forms.FloatField(
        min_value=0, max_value=1, help_text="Changes only while no rater has been served an item."
    )
    quota_per_rater = forms.IntegerField(
        min_value=1, required=False, help_text="Most regular items one rater may rate; empty for no limit."
    )
    min_seconds = forms.FloatField(min_value=0, max_value=600, label="Minimum reading time (s)")
    precision = forms.FloatField(
        required=False,
        label="Precision (interval width)",
        help_text="Stop-when-settled campaigns only: an interval narrower than this counts as settled.",
    )
    max_ratings = forms.IntegerField(
        min_value=1,
        required=False,
        label="Cap on ratings",
        help_text="Stop, not settled, after this many ratings (below the ratings given: stops now). "
        "Empty: no cap.",
    )
    equivalence_margin = forms.FloatField(
        required=False,
        label="Equivalence margin",
        help_text="Settle as 'no meaningful difference' once the interval lies inside 0.5 ± this.",
    )
    min_effect = forms.FloatField(required=False, label="Plan: minimum preference worth detecting")
    power = forms.FloatField(required=False, label="Plan: power")
    alpha = forms.FloatField(
        required=False, label="Plan: alpha", help_text="The intervals' level: fixed once there are ratings."
    )
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}))

    @classmethod
    def for_campaign(cls, campaign: Campaign, data: Any = None) -> CampaignEditForm:
        initial = {name: getattr(campaign, name) for name in cls.base_fields}
        form = cls(data, initial=initial)
        if not campaign.stop_when_settled:
            for name in STOP_FIELDS:
                del form.fields[name]
        return form

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in PLAN_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)  # left empty (or not sent): the plan stays as it is
        return data
