from django.apps import AppConfig


class HubConfig(AppConfig):
    """The site layer: the dashboard, the campaign page and the demo. Above every app, imported by none."""

    name = "hub"
    verbose_name = "Dashboard and demo"
