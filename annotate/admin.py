from django.contrib import admin

from annotate.models import Campaign, Comparison, Rating


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "eval_set", "status", "ratings_per_comparison", "created")
    list_filter = ("status",)


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = (
        "token",
        "campaign",
        "prompt",
        "system_a",
        "system_b",
        "system_on_left",
        "needed",
        "gold_answer",
    )
    list_filter = ("campaign",)
    raw_id_fields = ("prompt", "sample_a", "sample_b")


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("campaign", "rater", "choice", "side", "seconds", "created")
    list_filter = ("campaign",)
    raw_id_fields = ("comparison",)
