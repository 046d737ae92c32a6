from django.contrib import admin

from generation.models import GenerationChunk, GenerationJob, ModelSpec, Sample


@admin.register(ModelSpec)
class ModelSpecAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "source",
        "backend",
        "kind",
        "path",
        "served_model",
        "base_url",
        "dtype",
        "chat_template",
    )
    search_fields = ("name", "path")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "model", "eval_set", "status", "prompts_done", "prompts_total", "created")
    list_filter = ("status",)


@admin.register(GenerationChunk)
class GenerationChunkAdmin(admin.ModelAdmin):
    list_display = ("job", "index", "start", "end", "status", "worker", "heartbeat")


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = (
        "job",
        "prompt",
        "index",
        "logprob_sum",
        "num_tokens",
        "finish_reason",
        "kept",
        "selected",
    )
    raw_id_fields = ("job", "prompt")
