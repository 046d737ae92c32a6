from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # Stop-when-settled campaigns update their cells after each rating (reports.sequential_state).
        from annotate.signals import rating_changed
        from reports.sequential_state import on_rating_changed

        rating_changed.connect(on_rating_changed, dispatch_uid="reports.sequential_state")
