from django.contrib import admin

from finetune.models import FinetuneJob


@admin.register(FinetuneJob)
class FinetuneJobAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "base_model", "status", "step", "total_steps", "created")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("metrics", "notes", "error")
