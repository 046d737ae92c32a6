from django.apps import AppConfig


class FinetuneConfig(AppConfig):
    name = "finetune"
    verbose_name = "Finetuning"
