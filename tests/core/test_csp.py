"""Content-Security-Policy and the CSRF cookie (issue 14, finding 9) through the real pages."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go
import pytest
from django.test import Client

from core.plots import figure_html
from core.users import user_create
from tests.core.url_walk import walk

ROOT = Path(__file__).resolve().parents[2]
# The offline report is a file opened from disk, never a served page: it alone may inline scripts.
INLINE_ALLOWED = {"reports/report_export.html"}


def _assert_strict(policy: str, where: str) -> None:
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives.get("script-src") == "'self'", f"{where}: {policy}"
    assert directives.get("style-src") == "'self'", f"{where}: {policy}"
    assert directives.get("default-src") == "'self'", f"{where}: {policy}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [None, "researcher", "rater"])
def test_every_routed_page_carries_the_policy_whoever_asks(role, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    if role:
        user = user_create(username=f"csp-{role}", role=role, password="csp-password-1")
        client.force_login(user)
    paths = [path for _, path in walk()]
    assert len(paths) > 20
    for path in paths:
        # Sample arguments give 404s and redirects too: those answers must carry the header as well.
        response = client.get(path)
        _assert_strict(
            response.headers.get("Content-Security-Policy", ""), f"{path} ({response.status_code})"
        )


@pytest.mark.django_db
def test_the_csrf_cookie_is_http_only_and_the_token_is_in_the_page():
    response = Client().get("/accounts/login/")
    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] is True
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_no_static_script_reads_the_cookie():
    scripts = list((ROOT / "static").rglob("*.js"))
    assert scripts
    for script in scripts:
        assert "document.cookie" not in script.read_text(), script


def test_no_served_template_has_an_inline_script_handler_or_style_attribute():
    found = []
    for template in (ROOT / "templates").rglob("*.html"):
        name = template.relative_to(ROOT / "templates").as_posix()
        if name in INLINE_ALLOWED:
            continue
        text = template.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text):
            attrs = match.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                found.append(f"{name}: inline script {match.group(0)}")
        found += [f"{name}: {m.group(0)}" for m in re.finditer(r"\s(?:on[a-z]+|style)=\"", text)]
    assert not found, "\n".join(found)


def test_a_figure_is_data_not_a_script_and_cannot_close_its_block():
    fig = go.Figure(go.Bar(x=["</script><script>alert(1)</script>"], y=[1]))
    html = str(figure_html(fig, config={"responsive": True}))
    assert "</script>" not in html.replace('<script type="application/json" data-plot-figure>', "", 1)[:-9]
    assert html.count("<script") == 1 and '<script type="application/json" data-plot-figure>' in html
    assert "Plotly.newPlot" not in html and "style=" not in html
