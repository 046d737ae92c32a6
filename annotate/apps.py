from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Rating campaigns"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from annotate.leases import connect_counter_upkeep
        from annotate.serving_triggers import _after_migrate

        connect_counter_upkeep()
        # SQLite drops a table's triggers when a migration rebuilds it (annotate.serving_triggers).
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="annotate-serving-triggers")
