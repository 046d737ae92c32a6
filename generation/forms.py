"""Forms of the generation pages; validation of substance lives in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from eval_sets.models import EvalSet
from generation.models import ModelSpec, SelectionPolicy
from generation.params import DEFAULTS, GenerationParams
from generation.services import GenerationError, env_name_valid, served_api_key_env_check


class EnvNameInput(forms.TextInput):
    """Shows a submitted value again only when it is a variable name: a pasted key is never echoed."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, str) and value and not env_name_valid(value):
            return None
        return super().format_value(value)


class ModelRegisterForm(forms.Form):
    """Both backends of `register_model`: in-process (--path) or served (--backend openai)."""

    IN_PROCESS_FIELDS = ("path", "kind", "chat_template", "dtype")
    SERVED_FIELDS = ("base_url", "served_model", "chat", "api_key_env")

    name = forms.CharField(max_length=200)
    backend = forms.ChoiceField(
        choices=ModelSpec.Backend.choices,
        initial=ModelSpec.Backend.INPROCESS,
        widget=forms.RadioSelect,
        required=False,  # left out: in-process, as the command defaults
    )
    path = forms.CharField(max_length=500, required=False, help_text="Hugging Face id or local directory")
    kind = forms.ChoiceField(
        choices=[("", "detect from the config"), *ModelSpec.Kind.choices], required=False
    )
    chat_template = forms.BooleanField(required=False, label="Wrap prompts with the chat template")
    dtype = forms.ChoiceField(choices=ModelSpec.DType.choices, initial=ModelSpec.DType.AUTO, required=False)
    base_url = forms.CharField(
        max_length=500, required=False, label="Base URL", help_text="e.g. http://gpu-host:8000/v1"
    )
    served_model = forms.CharField(
        max_length=300,
        required=False,
        label="Served model name",
        help_text="The name the server knows (vLLM: --served-model-name, or the model path).",
    )
    chat = forms.BooleanField(required=False, label="Use the chat endpoint (the server's chat template)")
    api_key_env = forms.CharField(
        max_length=100,
        required=False,
        label="API key environment variable",
        widget=EnvNameInput,
        help_text="The NAME of the variable that holds the key on the worker (e.g. VLLM_API_KEY), "
        "never the key itself: keys are not stored or shown.",
    )

    def clean_api_key_env(self) -> str:
        """Refused on its field by the service's rule (SERVED_API_KEY_VARS), before anything is stored."""
        try:
            return served_api_key_env_check(self.cleaned_data.get("api_key_env") or "")
        except GenerationError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["backend"] = data.get("backend") or ModelSpec.Backend.INPROCESS
        if data["backend"] == ModelSpec.Backend.OPENAI:
            for name in ("base_url", "served_model"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, "A served model needs this.")
        elif not (data.get("path") or "").strip():
            self.add_error("path", "An in-process model needs a Hugging Face id or a local directory.")
        return data


class OutputsUploadForm(forms.Form):
    model_name = forms.CharField(
        max_length=200,
        label="System name",
        help_text="An outputs-only system: a new name registers one; an existing outputs-only name gets a "
        "new set of answers (its newest upload is the one campaigns use).",
    )
    eval_set = forms.ModelChoiceField(queryset=EvalSet.objects.all(), label="Evaluation set")
    file = forms.FileField(
        help_text=f'JSONL of {{"prompt_id", "response"}}, or an AlpacaEval outputs file (JSON list or JSONL '
        f'of {{"instruction", "output"}}, matched to prompts by text), or FastChat model answers '
        f'({{"question_id", "choices": [{{"turns": [...]}}]}}, one answer per turn). UTF-8, at most '
        f"{settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; answers at most {settings.MAX_RESPONSE_CHARS:,} "
        "characters. Nothing is imported if any line is bad."
    )


class JobCreateForm(forms.Form):
    """A job's parameters; a refused value shows the service's reason on its field (generation/params.py)."""

    model = forms.ModelChoiceField(queryset=ModelSpec.objects.exclude(source=ModelSpec.Source.EXTERNAL))
    eval_set = forms.ModelChoiceField(queryset=EvalSet.objects.all(), label="Evaluation set")
    samples_per_prompt = forms.IntegerField(initial=DEFAULTS.samples_per_prompt, label="Samples per prompt")
    temperature = forms.FloatField(initial=DEFAULTS.temperature, help_text="greater than 0")
    top_p = forms.FloatField(initial=DEFAULTS.top_p, label="top-p")
    top_k = forms.IntegerField(initial=DEFAULTS.top_k, label="top-k (0 = off)")
    max_new_tokens = forms.IntegerField(initial=DEFAULTS.max_new_tokens)
    min_new_tokens = forms.IntegerField(
        initial=DEFAULTS.min_new_tokens,
        required=False,
        help_text="EOS is not sampled before this many tokens",
    )
    seed = forms.IntegerField(initial=DEFAULTS.seed)
    selection_policy = forms.ChoiceField(choices=SelectionPolicy.choices, initial=DEFAULTS.selection_policy)
    prompt_limit = forms.IntegerField(required=False, label="Limit", help_text="only the first N prompts")

    PARAMS = (
        "samples_per_prompt",
        "temperature",
        "top_p",
        "top_k",
        "max_new_tokens",
        "min_new_tokens",
        "seed",
        "selection_policy",
        "prompt_limit",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(name in data for name in self.PARAMS):  # each one read as a number: check them together
            for name, problem in self._params(data).problems().items():
                self.add_error(name if name in self.fields else None, problem)
        return data

    def params(self) -> GenerationParams:
        """The cleaned parameters, as `generation_job_create` takes them."""
        return self._params(self.cleaned_data)

    @staticmethod
    def _params(data: dict[str, Any]) -> GenerationParams:
        values = {name: data[name] for name in JobCreateForm.PARAMS}
        if values["min_new_tokens"] is None:  # left empty: the default
            values["min_new_tokens"] = DEFAULTS.min_new_tokens
        return GenerationParams(**values)
