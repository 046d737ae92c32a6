from __future__ import annotations

from django import forms

from finetune.mixture import DEMO_MIXTURE
from generation.models import ModelSpec


class FinetuneJobForm(forms.Form):
    base = forms.ModelChoiceField(
        queryset=ModelSpec.objects.exclude(source=ModelSpec.Source.EXTERNAL),
        to_field_name="name",
        label="Base model",
    )
    name = forms.CharField(max_length=200, label="New model name")
    mixture_path = forms.CharField(
        max_length=500, initial=str(DEMO_MIXTURE), label="Mixture file (on the server)"
    )
    steps = forms.IntegerField(min_value=1, initial=100)
    batch_size = forms.IntegerField(min_value=1, initial=8)
    seq_len = forms.IntegerField(min_value=8, initial=512, label="Sequence length")
    lr = forms.FloatField(min_value=0, initial=1e-4, label="Learning rate")
    warmup = forms.IntegerField(min_value=0, initial=10, label="Warm-up steps")
    grad_accum = forms.IntegerField(min_value=1, initial=1, label="Gradient accumulation")
    optimizer = forms.ChoiceField(choices=[("adamw", "AdamW"), ("adafactor", "Adafactor")])
    eval_every = forms.IntegerField(min_value=1, initial=50)
    save_every = forms.IntegerField(min_value=1, initial=100, label="Checkpoint every")
    seed = forms.IntegerField(initial=0)
    lora = forms.BooleanField(required=False, label="LoRA (peft)")
    shard = forms.ChoiceField(
        choices=[("none", "No sharding"), ("fsdp", "FSDP full shard (full finetunes on GPUs)")],
        initial="none",
        required=False,
        label="Sharding",
        help_text="FSDP splits weights, gradients and optimizer states across GPUs; not with LoRA.",
    )

    HYPER = (
        "steps",
        "batch_size",
        "seq_len",
        "lr",
        "warmup",
        "grad_accum",
        "optimizer",
        "eval_every",
        "save_every",
        "seed",
        "lora",
        "shard",
    )

    def clean_shard(self) -> str:
        return str(self.cleaned_data.get("shard") or "none")
