import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_path, env_str, env_url


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("DEBUG", environ={"DEBUG": raw}) is expected


def test_env_bool_uses_the_default_when_unset_or_blank():
    assert env_bool("DEBUG", True, environ={}) is True
    assert env_bool("DEBUG", False, environ={"DEBUG": "  "}) is False


def test_env_bool_rejects_maybe_and_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG", environ={"DEBUG": "maybe"})


def test_env_int_reads_integers_and_rejects_words():
    assert env_int("WORKERS", 1, environ={"WORKERS": "8"}) == 8
    with pytest.raises(ImproperlyConfigured, match="WORKERS='eight'"):
        env_int("WORKERS", 1, environ={"WORKERS": "eight"})


def test_env_int_enforces_its_minimum():
    with pytest.raises(ImproperlyConfigured, match="SECURE_HSTS_SECONDS=-1"):
        env_int("SECURE_HSTS_SECONDS", 0, minimum=0, environ={"SECURE_HSTS_SECONDS": "-1"})


def test_env_list_splits_on_commas_and_rejects_empty_items():
    assert env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.org, b.org"}) == ["a.org", "b.org"]
    assert env_list("ALLOWED_HOSTS", ["x"], environ={}) == ["x"]
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.org,,b.org"})


def test_env_str_and_env_path_fall_back_to_defaults(tmp_path):
    assert env_str("NAME", "dflt", environ={}) == "dflt"
    assert env_str("NAME", environ={"NAME": " x "}) == "x"
    assert env_path("VAR_DIR", tmp_path, environ={}) == tmp_path
    assert env_path("VAR_DIR", tmp_path, environ={"VAR_DIR": str(tmp_path / "v")}) == tmp_path / "v"


def test_env_url_accepts_known_schemes_and_rejects_others():
    url = "postgres://u@localhost:5432/db"
    assert env_url("DATABASE_URL", schemes=("postgres",), environ={"DATABASE_URL": url}) == url
    assert env_url("DATABASE_URL", schemes=("postgres",), environ={}) is None
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_url("DATABASE_URL", schemes=("postgres",), environ={"DATABASE_URL": "mysql://x/y"})
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL"):
        env_url("CELERY_BROKER_URL", schemes=("redis",), environ={"CELERY_BROKER_URL": "localhost:6379"})
