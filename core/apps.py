from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts and jobs"

    def ready(self) -> None:
        from core import roles

        roles.connect_group_creation()
