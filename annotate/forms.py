from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from annotate.models import DEFAULT_INSTRUCTIONS, DEFAULT_MIN_SECONDS, Campaign
from core.roles import RATERS
from core.users import USERNAME_HELP
from eval_sets.models import EvalSet
from generation.models import ModelSpec


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
    ratings_per_comparison = forms.IntegerField(min_value=1, max_value=50, initial=1)
    overlap = forms.FloatField(
        min_value=0, max_value=1, initial=0.1, help_text="Fraction of comparisons rated by at least 3 raters."
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
    raters = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), initial=DEFAULT_INSTRUCTIONS)
    open_now = forms.BooleanField(required=False, label="Open it to raters now")

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
        return data


class RaterCreateForm(forms.Form):
    username = forms.CharField(max_length=150, help_text=USERNAME_HELP)
    password = forms.CharField(
        widget=forms.PasswordInput,
        min_length=8,
        help_text="At least 8 characters, not a common or all-digit one, not like the username; give it to the rater.",
    )


class GoldUploadForm(forms.Form):
    file = forms.FileField(
        help_text='JSONL, one pair a line: {"prompt_id", "text_a", "text_b", "answer": "a"|"b"|"tie"|"both_bad"}'
    )
