from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Webhook deliveries follow the apps' events (core.events); the apps never import api.
        from api import tasks, webhook_events  # tasks: registered with Celery here, found by name later

        webhook_events.connect()
        assert tasks.webhook_deliver_task.name == "api.tasks.webhook_deliver_task"
