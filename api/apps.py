from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Webhook deliveries follow the apps' events (core.events); the apps never import api.
        from api import webhook_events

        webhook_events.connect()
