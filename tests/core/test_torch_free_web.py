"""The web process must never import torch: GPU code is imported inside task bodies only."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, sys
import django
django.setup()
from django.conf import settings
from django.urls import get_resolver
importlib.import_module(settings.ROOT_URLCONF)
get_resolver().url_patterns
local = [app for app in settings.INSTALLED_APPS if not app.startswith("django.")]
for app in local:
    for module in ("models", "views", "admin", "urls", "tasks", "forms", "services"):
        try:
            importlib.import_module(f"{app}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.{module}":
                raise
import config.celery
from django.core.management import get_commands, load_command_class
for name, app in get_commands().items():
    if app in local:
        load_command_class(app, name)
heavy = sorted(m for m in ("torch", "transformers", "accelerate", "peft") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def test_importing_every_app_module_command_and_the_urlconf_pulls_in_no_torch():
    # A fresh interpreter: in the test process something else may already have imported torch.
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY:\n" in result.stdout, result.stdout
