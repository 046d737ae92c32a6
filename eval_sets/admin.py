from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from eval_sets.models import EvalSet, Prompt


class ReadOnlyAdmin(admin.ModelAdmin):
    """Stored versions are immutable: they change only through import_eval_set."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvalSet)
class EvalSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "source_format", "source_file", "created", "content_hash")
    list_filter = ("source_format",)
    search_fields = ("name", "description")


@admin.register(Prompt)
class PromptAdmin(ReadOnlyAdmin):
    list_display = ("uid", "eval_set", "category", "setting", "variant_of")
    list_filter = ("setting", "eval_set")
    search_fields = ("uid", "text", "category")
    list_select_related = ("eval_set",)
