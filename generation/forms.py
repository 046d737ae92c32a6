"""Forms of the generation pages; validation of substance lives in the services."""

from __future__ import annotations

from django import forms

from eval_sets.models import EvalSet
from generation.models import ModelSpec, SelectionPolicy


class ModelRegisterForm(forms.Form):
    name = forms.CharField(max_length=200)
    path = forms.CharField(max_length=500, help_text="Hugging Face id or local directory")
    kind = forms.ChoiceField(
        choices=[("", "detect from the config"), *ModelSpec.Kind.choices], required=False
    )
    chat_template = forms.BooleanField(required=False, label="Wrap prompts with the chat template")
    dtype = forms.ChoiceField(choices=ModelSpec.DType.choices, initial=ModelSpec.DType.AUTO)


class JobCreateForm(forms.Form):
    model = forms.ModelChoiceField(queryset=ModelSpec.objects.exclude(source=ModelSpec.Source.EXTERNAL))
    eval_set = forms.ModelChoiceField(queryset=EvalSet.objects.all(), label="Evaluation set")
    samples = forms.IntegerField(min_value=1, max_value=64, initial=5)
    temperature = forms.FloatField(initial=0.7, help_text="greater than 0")
    top_p = forms.FloatField(initial=1.0, label="top-p")
    top_k = forms.IntegerField(min_value=0, initial=0, label="top-k (0 = off)")
    max_new_tokens = forms.IntegerField(min_value=1, initial=256)
    min_new_tokens = forms.IntegerField(
        min_value=0, initial=0, required=False, help_text="EOS is not sampled before this many tokens"
    )
    seed = forms.IntegerField(initial=0)
    selection_policy = forms.ChoiceField(choices=SelectionPolicy.choices, initial=SelectionPolicy.PAPER)
    limit = forms.IntegerField(min_value=1, required=False, help_text="only the first N prompts")
