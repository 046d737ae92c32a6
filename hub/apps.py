from django.apps import AppConfig


class HubConfig(AppConfig):
    """The site layer: the dashboard, the campaign page and the demo. Above every app, imported by none."""

    name = "hub"
    verbose_name = "Dashboard and demo"

    def ready(self) -> None:
        from core.events import campaign_built
        from hub.summary_events import on_campaign_built

        campaign_built.connect(on_campaign_built, dispatch_uid="hub.summary.campaign_built")
