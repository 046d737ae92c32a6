from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html

from annotate.recruiting.links import EXTERNAL_ID, PARAM_NAME
from annotate.recruiting_models import CampaignRecruiting
from core.users import USERNAME_HELP


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, help_text=USERNAME_HELP)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(widget=forms.PasswordInput, strip=False, label="Password again")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rules Django's validators apply (AUTH_PASSWORD_VALIDATORS), shown before the first try.
        self.fields["password"].help_text = password_validators_help_text_html()

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
    screened_out_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        widget=forms.TextInput(attrs={"inputmode": "url"}),
        help_text="Optional: where a screened-out rater is sent. Never the completion URL: it carries the completion code.",
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
            "screened_out_url",
            "session_items",
            "session_minutes",
            "platform_study_id",
        ]
        widgets = {"consent_text": forms.Textarea(attrs={"rows": 6})}

    def clean_external_param(self) -> str:
        value = str(self.cleaned_data.get("external_param", "")).strip()
        if not PARAM_NAME.match(value):
            raise forms.ValidationError("A parameter name is letters, digits and underscores.")
        return value

    def clean_platform_study_id(self) -> str:
        value = str(self.cleaned_data.get("platform_study_id", "")).strip()
        if value and not EXTERNAL_ID.match(value):
            raise forms.ValidationError("A study id is letters, digits, _ and - (as the platform shows it).")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        screened, completion = data.get("screened_out_url") or "", data.get("completion_url") or ""
        code = data.get("completion_code") or ""
        if screened and (screened == completion or (code and code in screened)):
            # A screened-out rater would be sent off with the completion code and paid as finished.
            self.add_error(
                "screened_out_url",
                "This URL carries the completion code: use the platform's screened-out URL.",
            )
        for name in ("session_items", "session_minutes"):
            if data.get(name) == 0:
                self.add_error(name, "At least 1 (leave it empty for no limit).")
        return data

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
