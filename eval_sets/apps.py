from django.apps import AppConfig


class EvalSetsConfig(AppConfig):
    name = "eval_sets"
    verbose_name = "Evaluation sets"
