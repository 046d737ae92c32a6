from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Rating campaigns"

    def ready(self) -> None:
        from annotate.leases import connect_counter_upkeep

        connect_counter_upkeep()
