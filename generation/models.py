"""Registered systems, generation jobs and the samples they produce."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models import Chunk, Job
from generation.params import DEFAULTS


class ModelSpec(models.Model):
    """A named system that can answer prompts (or whose answers were made elsewhere)."""

    class Source(models.TextChoices):
        PATH = "path", "Hugging Face id or local directory"
        FINETUNE = "finetune", "Output of a finetune job"
        EXTERNAL = "external", "Responses made elsewhere"

    class Kind(models.TextChoices):
        CAUSAL = "causal", "Decoder-only (causal LM)"
        SEQ2SEQ = "seq2seq", "Encoder-decoder (seq2seq LM)"

    class DType(models.TextChoices):
        AUTO = "auto", "auto (bf16 on a GPU that supports it, fp32 on CPU)"
        FLOAT32 = "float32", "float32"
        BFLOAT16 = "bfloat16", "bfloat16"
        FLOAT16 = "float16", "float16"

    class Backend(models.TextChoices):
        INPROCESS = "inprocess", "In-process engine (loaded by a GPU worker)"
        OPENAI = "openai", "Served model (OpenAI-compatible API: vLLM and the like)"

    name = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.PATH)
    path = models.CharField(max_length=500, blank=True, help_text="Hugging Face id or local directory.")
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    chat_template = models.BooleanField(
        default=False, help_text="Wrap prompts with the tokenizer's chat template."
    )
    dtype = models.CharField(max_length=16, choices=DType.choices, default=DType.AUTO)
    # A served model: only the address and names are stored, never a key (the worker reads the key
    # from the environment variable named here).
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.INPROCESS)
    base_url = models.CharField(max_length=500, blank=True, help_text="e.g. http://gpu-host:8000/v1")
    served_model = models.CharField(max_length=300, blank=True, help_text="The model name the server knows.")
    chat = models.BooleanField(default=False, help_text="Use the chat endpoint (the server's chat template).")
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable holding the API key on the worker."
    )
    description = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_served(self) -> bool:
        return self.backend == self.Backend.OPENAI


# The `engine` of a job that holds answers imported from a file (generation.outputs_import).
IMPORTED_ENGINE = "import_outputs"


class SelectionPolicy(models.TextChoices):
    PAPER = "paper", "Paper: drop scores better than half the median, keep the best"
    NONE = "none", "None: keep the best score"


class GenerationJob(Job):
    retry_keeps = "finished prompts"

    model = models.ForeignKey(ModelSpec, on_delete=models.PROTECT, related_name="generation_jobs")
    eval_set = models.ForeignKey(
        "eval_sets.EvalSet", on_delete=models.PROTECT, related_name="generation_jobs"
    )
    samples_per_prompt = models.PositiveIntegerField(default=DEFAULTS.samples_per_prompt)
    temperature = models.FloatField(default=DEFAULTS.temperature)
    top_p = models.FloatField(default=DEFAULTS.top_p)
    top_k = models.PositiveIntegerField(default=DEFAULTS.top_k)
    max_new_tokens = models.PositiveIntegerField(default=DEFAULTS.max_new_tokens)
    min_new_tokens = models.PositiveIntegerField(
        default=DEFAULTS.min_new_tokens,
        help_text="EOS is not sampled before this many tokens (scores still count it).",
    )
    seed = models.BigIntegerField(default=DEFAULTS.seed)
    selection_policy = models.CharField(
        max_length=16, choices=SelectionPolicy.choices, default=DEFAULTS.selection_policy
    )
    prompts_total = models.PositiveIntegerField(default=0)
    prompts_done = models.PositiveIntegerField(default=0)
    tokens_generated = models.BigIntegerField(default=0)
    tokens_per_second = models.FloatField(null=True, blank=True)
    engine = models.CharField(max_length=64, blank=True, help_text="Which generation path ran, and why.")
    conversation_template = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="How a conversation's turns were written for the model.",
    )
    # Answers made elsewhere (generation.outputs_import): the uploaded file's name; empty for a generation.
    source_file = models.CharField(max_length=255, blank=True, default="")
    prompt_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only the first N prompts of the set (demos, tests)."
    )
    chunk_size = models.PositiveIntegerField(
        default=DEFAULTS.chunk_size,
        help_text="Prompts per chunk; workers claim chunks, so several can share a job.",
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"generation #{self.pk} {self.model} on {self.eval_set}"

    @property
    def is_imported(self) -> bool:
        """Answers uploaded from a file (import_outputs), not generated here: no sampling parameters."""
        return self.engine == IMPORTED_ENGINE


class GenerationChunk(Chunk):
    """A slice of a job's prompts (by position order) that one worker claims at a time."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="chunks")

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="generation_chunk_unique_index"),
        ]


class Sample(models.Model):
    class FinishReason(models.TextChoices):
        EOS = "eos", "End of sequence"
        STOP = "stop", "Stop string"
        LENGTH = "length", "Length limit"
        EXTERNAL = "external", "Made elsewhere"

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="samples")
    prompt = models.ForeignKey("eval_sets.Prompt", on_delete=models.PROTECT, related_name="samples")
    # Which user turn of a conversation this answers (1 for a single-turn prompt); turn t was
    # generated after the selected answers of turns 1..t-1 of the same job.
    turn = models.PositiveSmallIntegerField(default=1)
    index = models.PositiveIntegerField()
    text = models.TextField()
    prompt_token_ids = models.JSONField(default=list, blank=True)
    token_ids = models.JSONField(default=list, blank=True)
    logprob_sum = models.FloatField(null=True, blank=True)
    num_tokens = models.PositiveIntegerField(default=0)
    finish_reason = models.CharField(max_length=16, choices=FinishReason.choices)
    kept = models.BooleanField(default=True)
    selected = models.BooleanField(default=False)
    # The same on every sample of a prompt: the selection is per prompt, and a per-prompt table
    # for one number would cost a join on every page. None: no threshold (policy "none", external).
    threshold = models.FloatField(
        null=True, blank=True, help_text="The selection threshold of this sample's prompt (median / 2)."
    )

    class Meta:
        ordering = ["job", "prompt__position", "turn", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "prompt", "turn", "index"], name="sample_unique_per_job_prompt_turn"
            ),
        ]

    def __str__(self) -> str:
        return f"sample {self.index} of {self.prompt.uid} (job {self.job_id})"


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL; models (byte-level ones especially) can emit it.

    NUL becomes U+FFFD in the stored text; the token ids keep the exact output.
    """
    return text.replace("\x00", "\ufffd")
