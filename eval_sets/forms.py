from django import forms
from django.conf import settings

from eval_sets.importers import FORMATS


class EvalSetUploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"JSONL, JSON or CSV, UTF-8, at most {settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MiB."
    )
    name = forms.CharField(
        required=False, max_length=200, help_text="Set name; empty means the file name without its extension."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    format = forms.ChoiceField(
        choices=[("auto", "Detect automatically")] + [(f, f) for f in FORMATS], initial="auto"
    )
    id_field = forms.CharField(required=False, max_length=200, help_text="jsonl/csv only; default id.")
    prompt_field = forms.CharField(
        required=False, max_length=200, help_text="jsonl/csv only; default prompt."
    )
    category_field = forms.CharField(
        required=False, max_length=200, help_text="jsonl/csv only; default category."
    )
