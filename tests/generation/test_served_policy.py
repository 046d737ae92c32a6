"""What a served model may reach and send: SERVED_ALLOWED_HOSTS and SERVED_API_KEY_VARS (issue 25, items 2, 3).

Checked at registration (service, form, command) here; at every connection and on the worker in
test_served_connections.py.
"""

from __future__ import annotations

import socket

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from generation.models import ModelSpec
from generation.served_policy import HostAllowList, ip_parse
from generation.services import GenerationError, model_spec_register_served

pytestmark = pytest.mark.django_db


def _register(url: str, api_key_env: str = "") -> ModelSpec:
    return model_spec_register_served(name="m", base_url=url, served_model="x", api_key_env=api_key_env)


@pytest.fixture
def dns(monkeypatch) -> dict[str, str]:
    """Host names resolved as this dict says (no real DNS in tests)."""
    table: dict[str, str] = {}

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    monkeypatch.setattr("generation.served_policy.socket.getaddrinfo", fake)
    return table


def test_with_no_allowed_hosts_set_nothing_can_be_registered_and_the_message_names_the_setting(settings):
    settings.SERVED_ALLOWED_HOSTS = []
    with pytest.raises(GenerationError, match=r"operator must list .* SERVED_ALLOWED_HOSTS"):
        _register("http://127.0.0.1:8000/v1")
    assert not ModelSpec.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",  # loopback
        "http://169.254.169.254/latest",  # the cloud metadata service
        "http://10.0.0.5:8000/v1",  # private
        "http://[::1]:8000/v1",
        "http://[::ffff:127.0.0.1]:8000/v1",  # loopback dressed as IPv6
        "http://0.0.0.0:8000/v1",
        "http://224.0.0.1/v1",  # multicast
        "http://inner.example.org/v1",  # a name under the wildcard that resolves to a private address
    ],
)
def test_internal_addresses_are_refused_unless_listed_exactly_and_a_wildcard_does_not_admit_them(
    settings, dns, url
):
    dns["inner.example.org"] = "192.168.1.20"
    settings.SERVED_ALLOWED_HOSTS = ["*.example.org", "203.0.113.0/24"]
    with pytest.raises(GenerationError, match="SERVED_ALLOWED_HOSTS does not allow"):
        _register(url)
    assert not ModelSpec.objects.exists()


def test_listed_hosts_addresses_and_networks_are_allowed(settings, dns):
    dns.update({"vllm": "172.18.0.5", "gpu.example.org": "93.184.216.34", "evil.example.org": "127.0.0.2"})
    settings.SERVED_ALLOWED_HOSTS = ["vllm", "*.example.org", "127.0.0.1", "10.0.0.0/8"]
    for i, url in enumerate(
        [
            "http://vllm:8000/v1",
            "https://gpu.example.org/v1",
            "http://127.0.0.1:8000/v1",
            "http://10.9.8.7/v1",
        ]
    ):
        model_spec_register_served(name=f"m{i}", base_url=url, served_model="x")
    assert ModelSpec.objects.count() == 4
    with pytest.raises(GenerationError, match=r"internal address \(127.0.0.2\)"):
        _register("http://evil.example.org/v1")


def test_a_host_that_does_not_resolve_is_refused(settings, dns):
    settings.SERVED_ALLOWED_HOSTS = ["gpu-host"]
    with pytest.raises(GenerationError, match="cannot be resolved"):
        _register("http://gpu-host:8000/v1")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.7/v1#", "no fragment"),  # the trailing '#' that swallowed the appended path
        ("http://10.0.0.7/admin#/v1", "no fragment"),
        ("http://10.0.0.7/v1?next=/admin", "no query"),
        ("http://user@10.0.0.7/v1", "no credentials"),
        ("http://u:p@10.0.0.7/v1", "no credentials"),
        ("file:///etc/passwd", "not an http"),
        ("gopher://10.0.0.7/v1", "not an http"),
        ("http://10.0.0.7/v 1", "spaces or control"),
    ],
)
def test_base_urls_other_than_plain_http_are_refused_with_a_clear_message(settings, url, message):
    settings.SERVED_ALLOWED_HOSTS = ["10.0.0.7"]
    with pytest.raises(GenerationError, match=message):
        _register(url)


def test_a_bad_allow_list_entry_is_named():
    with pytest.raises(ValueError, match="'no way!'"):
        HostAllowList.parse(["10.0.0.1", "no way!"])


def test_an_ipv4_mapped_address_is_checked_as_the_ipv4_address_it_is():
    allowed = HostAllowList.parse(["*.example.org"])
    assert not allowed.allows("x.example.org", ip_parse("::ffff:169.254.169.254"))
    assert allowed.allows("x.example.org", ip_parse("::ffff:93.184.216.34"))


# ---- API key variables ------------------------------------------------------------------------
def test_the_platforms_own_variables_are_collected_from_what_the_settings_read():
    platform = django_settings.PLATFORM_ENV_VARS
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "SECRET_KEY_FILE", "CACHE_URL"):
        assert name in platform
    assert {"SERVED_API_KEY_VARS", "GENERATION_SERVED_TIMEOUT", "DJANGO_SETTINGS_MODULE"} <= platform


@pytest.mark.parametrize("name", ["DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "CACHE_URL"])
def test_platform_variables_are_refused_even_when_a_pattern_matches(settings, name):
    settings.SERVED_ALLOWED_HOSTS, settings.SERVED_API_KEY_VARS = ["10.0.0.7"], ["*", "*_URL", "*_KEY"]
    with pytest.raises(GenerationError, match="SERVED_API_KEY_VARS"):
        _register("http://10.0.0.7/v1", api_key_env=name)
    assert not ModelSpec.objects.exists()


def test_a_refusal_reads_the_same_whether_the_variable_exists_or_not(settings, monkeypatch):
    settings.SERVED_ALLOWED_HOSTS, settings.SERVED_API_KEY_VARS = ["10.0.0.7"], ["*_API_KEY"]
    monkeypatch.setenv("HOME_TOKEN", "present")
    monkeypatch.delenv("ABSENT_TOKEN", raising=False)
    messages = []
    for name in ("HOME_TOKEN", "ABSENT_TOKEN"):
        with pytest.raises(GenerationError) as info:
            _register("http://10.0.0.7/v1", api_key_env=name)
        messages.append(str(info.value).replace(name, "NAME"))
    assert messages[0] == messages[1] and "not set" not in messages[0]


def test_only_names_matching_the_operators_patterns_are_accepted(settings):
    settings.SERVED_ALLOWED_HOSTS = ["10.0.0.7"]
    settings.SERVED_API_KEY_VARS = []  # the default: none
    with pytest.raises(GenerationError, match="SERVED_API_KEY_VARS"):
        _register("http://10.0.0.7/v1", api_key_env="VLLM_API_KEY")
    settings.SERVED_API_KEY_VARS = ["*_API_KEY", "OPENAI_KEY"]
    assert _register("http://10.0.0.7/v1", api_key_env="VLLM_API_KEY").api_key_env == "VLLM_API_KEY"


def test_the_command_and_the_form_refuse_a_platform_variable(settings, researcher_client):
    settings.SERVED_ALLOWED_HOSTS, settings.SERVED_API_KEY_VARS = ["10.0.0.7"], ["*"]
    argv = ["--backend", "openai", "--base-url", "http://10.0.0.7/v1", "--served-model", "m"]
    with pytest.raises(CommandError, match="SERVED_API_KEY_VARS"):
        call_command("register_model", "bad", *argv, "--api-key-env", "SECRET_KEY")
    data = {
        "name": "bad", "backend": "openai", "base_url": "http://10.0.0.7/v1", "served_model": "m",
        "api_key_env": "DATABASE_URL", "dtype": "auto",
    }  # fmt: skip
    response = researcher_client.post(reverse("generation:model_list"), data)
    assert response.status_code == 200 and "SERVED_API_KEY_VARS" in response.content.decode()
    assert not ModelSpec.objects.exists()
