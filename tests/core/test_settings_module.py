"""The settings module as a whole, loaded in a fresh interpreter with a chosen environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the test run itself may have set; each test chooses its own environment.
OUTSIDE_ENV = {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "PRODUCTION", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_django(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in OUTSIDE_ENV}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path / "var")}, **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_debug_value_stops_the_process_with_the_variable_named(tmp_path):
    result = run_django("", {"DEBUG": "maybe"}, tmp_path)
    assert result.returncode != 0
    assert "DEBUG='maybe'" in result.stderr


def test_the_embedded_default_uses_sqlite_in_wal_mode_and_keeps_a_generated_secret(tmp_path):
    code = (
        "from django.conf import settings; from django.db import connection\n"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])\n"
        "print(settings.DATABASES['default']['ENGINE']); print(settings.SECRET_KEY); print(settings.DEBUG)\n"
        "print(settings.CELERY_BROKER_URL)"
    )
    first = run_django(code, {}, tmp_path)
    assert first.returncode == 0, first.stderr
    mode, engine, key, debug, broker = first.stdout.split()
    assert (mode, engine, debug, broker) == ("wal", "django.db.backends.sqlite3", "False", "filesystem://")
    assert len(key) > 40
    again = run_django(code, {}, tmp_path)
    assert again.stdout.split()[2] == key, "the generated secret must be kept across restarts"


def test_database_url_selects_postgresql_through_psycopg(tmp_path):
    code = "from django.conf import settings; d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'], d['PORT'])"
    result = run_django(code, {"DATABASE_URL": "postgres://u:p@db.example:6543/evals"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "evals", "6543"]


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_django("", {"PRODUCTION": "true", "ALLOWED_HOSTS": "evals.example.org"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("debug", ["false"])
def test_production_settings_pass_the_deployment_checklist(tmp_path, debug):
    env = {
        "PRODUCTION": "true",
        "DEBUG": debug,
        "SECRET_KEY": "x" * 20 + "A-very-long-and-random-production-secret-0123456789",
        "ALLOWED_HOSTS": "evals.example.org",
        "DATABASE_URL": "postgres://u:p@db.example:5432/evals",
        "CELERY_BROKER_URL": "redis://redis.example:6379/0",
    }
    clean = {k: v for k, v in os.environ.items() if k not in OUTSIDE_ENV}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path / "var")}, **env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("prepared", "expected"), [("", "True 5"), ("0", "None None")])
def test_postgresql_prepares_repeated_statements_unless_turned_off(tmp_path, prepared, expected):
    env = {"DATABASE_URL": "postgres://u:p@127.0.0.1:1/db"}
    if prepared:
        env["DATABASE_PREPARED"] = prepared
    code = (
        "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']\n"
        "print(o.get('server_side_binding'), o.get('prepare_threshold'))"
    )
    result = run_django(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == expected
