from __future__ import annotations

from typing import Any

from django import forms

from annotate.recruiting.links import PARAM_NAME
from annotate.recruiting_models import CampaignRecruiting


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(widget=forms.PasswordInput, strip=False, label="Password again")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class RecruitingForm(forms.ModelForm):
    completion_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        widget=forms.TextInput(attrs={"inputmode": "url"}),
    )

    class Meta:
        model = CampaignRecruiting
        fields = [
            "consent_text",
            "practice_items",
            "qualification_percent",
            "gold_accuracy_min",
            "accept_external",
            "external_param",
            "completion_code",
            "screened_out_code",
            "completion_url",
        ]
        widgets = {"consent_text": forms.Textarea(attrs={"rows": 6})}

    def clean_external_param(self) -> str:
        value = str(self.cleaned_data.get("external_param", "")).strip()
        if not PARAM_NAME.match(value):
            raise forms.ValidationError("A parameter name is letters, digits and underscores.")
        return value

    def clean_gold_accuracy_min(self) -> float:
        value = self.cleaned_data.get("gold_accuracy_min")
        if value is None or not 0 <= value <= 1:
            raise forms.ValidationError("A share between 0 and 1 (0.6 flags raters below 60 % on gold).")
        return float(value)

    def clean_qualification_percent(self) -> float | None:
        value = self.cleaned_data.get("qualification_percent")
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError("A percentage between 0 and 100.")
        return value


class InviteForm(forms.Form):
    label = forms.CharField(max_length=200, required=False)
    expires_days = forms.FloatField(required=False, min_value=0.01, label="Expires after (days)")
    max_uses = forms.IntegerField(required=False, min_value=1)


class PracticeUploadForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Practice items (JSONL)",
        help_text='One a line: {"prompt", "text_a", "text_b", "answer": "a"|"b"|"tie"|"both_bad", "explanation"}',
    )
