"""What a newcomer sees on the site: one status badge, empty states, the login page, an honest pace, quiet refusals."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.template import Context, Template
from django.utils import timezone

from annotate.models import Rating
from annotate.selectors import RATE_MIN_WINDOW, campaign_progress
from core.logging import RefusalsAsOneLine
from core.models import JobStatus
from tests.factories import rate

pytestmark = pytest.mark.django_db


class _Job:
    def __init__(self, status: str) -> None:
        self.status = status

    def get_status_display(self) -> str:
        return dict(JobStatus.choices)[self.status]


def _badge(obj: object) -> str:
    return Template("{% load status_badge %}{% status_badge obj %}").render(Context({"obj": obj}))


def test_one_status_badge_whatever_the_page_passes():
    # "Done" from a display label and "done" from a raw status render the same element.
    assert (
        _badge(_Job("done"))
        == _badge("done")
        == ('<span class="badge status done" data-field="status">done</span>')
    )
    assert 'class="badge status running"' in _badge(_Job("running"))
    assert 'class="badge status failed"' in _badge(_Job("failed"))


def test_campaign_badges_borrow_the_job_tones(campaign_factory):
    campaign = campaign_factory(name="badge-camp")
    assert 'class="badge status running"' in _badge(campaign)  # open
    campaign.status = "closed"
    assert 'class="badge status done"' in _badge(campaign)


def test_the_login_page_says_what_the_site_is(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'id="site-intro"' in page and "blind side-by-side" in page


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/dashboard/", "No open campaign."),
        ("/generation/jobs/", "No generation jobs yet."),
        ("/generation/models/", "No models yet."),
        ("/finetune/", "No finetuning jobs yet."),
        ("/campaigns/", "No campaigns yet."),
        ("/reports/", "No campaigns yet."),
        ("/eval-sets/", "No evaluation sets yet."),
    ],
)
def test_every_list_page_has_a_clear_empty_state(researcher_client, path, text):
    response = researcher_client.get(path)
    assert response.status_code == 200
    assert f'<p class="empty">{text}' in response.content.decode()


def test_the_pace_is_shown_only_over_a_long_enough_window(researcher_client, campaign_factory, make_rater):
    rater = make_rater("pace-one")
    campaign = campaign_factory(name="pace", n_prompts=4, raters=[rater])
    for _ in range(3):
        rate(campaign, rater, "left")
    # Ratings seconds apart: no rate (it would extrapolate to thousands an hour).
    assert campaign_progress(campaign=campaign).ratings_per_hour is None
    page = researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "a rate per hour is shown once the ratings span 30 minutes" in page
    assert "per hour overall" not in page
    first = Rating.objects.filter(campaign=campaign).order_by("created").first()
    assert first is not None
    first.created = timezone.now() - RATE_MIN_WINDOW - timedelta(minutes=30)
    first.save(update_fields=["created"])
    progress = campaign_progress(campaign=campaign)
    # The ratings now span one hour.
    assert progress.ratings_per_hour == pytest.approx(progress.ratings_total / 1.0, rel=0.01)
    assert "per hour overall" in researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()


def test_a_refusal_is_logged_as_one_line_without_a_traceback():
    try:
        raise PermissionDenied("researchers only")
    except PermissionDenied:
        import sys

        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x",), sys.exc_info()
        )
    assert RefusalsAsOneLine().filter(record) and record.exc_info is None
    formatted = logging.Formatter().format(record)
    assert formatted == "Forbidden: /x"
    try:
        raise ValueError("a real error")
    except ValueError:
        import sys

        other = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    assert RefusalsAsOneLine().filter(other) and other.exc_info is not None


def test_a_rater_opening_a_researcher_page_prints_no_traceback(rater_client, campaign_factory, caplog):
    campaign = campaign_factory(name="quiet")
    handler = logging.StreamHandler()
    handler.addFilter(RefusalsAsOneLine())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert rater_client.get(f"/campaigns/{campaign.pk}/").status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    for r in refusals:
        handler.filter(r)
        assert "Traceback" not in logging.Formatter().format(r)


def test_progress_off_a_terminal_is_whole_lines_not_carriage_returns():
    import io

    from core.progress import LineProgress, progress_bar

    out = io.StringIO()
    bar = progress_bar(total=10, desc="job 7", unit="prompt", file=out)
    assert isinstance(bar, LineProgress)
    bar.every = 0.0
    with bar:
        bar.update(4)
        bar.update(6)
    lines = out.getvalue().splitlines()
    assert lines == ["job 7: 4/10 prompts (40%)", "job 7: 10/10 prompts (100%)"]
    assert "\r" not in out.getvalue()
