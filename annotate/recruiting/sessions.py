"""A recruited participant's session and its end: who gets the completion code, and when.

Crowd work is paid per session, so a crowd participant (one who came in through the crowd URL) has
a session of `session_items` ratings or `session_minutes` minutes from admission to the pool,
whichever comes first; the rating loop serves nothing after it (`session_of`). Raters who came in
through an invite have no session: they rate until nothing is left.

The completion code is proof of work, so it goes only to a participant admitted to the pool who
rated at least one item and then ended: their session is over, nothing is left for them, or the
campaign closed (by the researcher or by stop-when-settled). Anyone else who stops is told to return
the study, with no code: a latecomer to a full study (`study_full`, checked at entry too), a
participant who ran out of time without a rating, or one who chooses to stop early.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from annotate import assignment
from annotate.models import Campaign, Rating
from annotate.recruiting import steps
from annotate.recruiting_models import CampaignRecruiting, Enrollment, ExternalRater

COMPLETED, SCREENED_OUT, FULL, UNFINISHED = "completed", "screened_out", "full", "unfinished"


@dataclass(frozen=True)
class Session:
    """A crowd participant's session: items still theirs in it (None: no item limit) and whether it is over."""

    items_left: int | None
    over: bool
    limit: int | None = None


def _session(*, recruiting: CampaignRecruiting, admitted_at: datetime, rated: int, now: datetime) -> Session:
    limit = recruiting.session_items
    left = max(0, limit - rated) if limit else None
    timed_out = bool(recruiting.session_minutes) and now >= admitted_at + timedelta(
        minutes=recruiting.session_minutes or 0
    )
    return Session(items_left=left, over=timed_out or left == 0, limit=limit)


def session_of(*, campaign: Campaign, rater: User, now: datetime | None = None) -> Session | None:
    """The rater's session in the campaign, or None when no session bounds them (not crowd, or no size set).

    The rating loop calls this once per call: one indexed read for everyone, a count only for a bound one.
    """
    row = (
        Enrollment.objects.filter(campaign=campaign, user=rater, admitted_at__isnull=False)
        .filter(user__in=ExternalRater.objects.filter(campaign=campaign).values("user_id"))
        .values_list(
            "admitted_at", "campaign__recruiting__session_items", "campaign__recruiting__session_minutes"
        )
        .first()
    )
    if row is None:
        return None
    admitted_at, items, minutes = row
    if admitted_at is None or not (items or minutes):
        return None
    recruiting = CampaignRecruiting(session_items=items, session_minutes=minutes)
    rated = Rating.objects.filter(campaign=campaign, rater=rater).count()
    return _session(recruiting=recruiting, admitted_at=admitted_at, rated=rated, now=now or timezone.now())


def in_session(progress: assignment.Progress, session: Session | None) -> assignment.Progress:
    """The progress a session-bound rater is shown: what is left of their session, not of the campaign."""
    if session is None or session.items_left is None:
        return progress
    return replace(progress, remaining=min(progress.remaining, session.items_left))


def finish_url(campaign: Campaign) -> str:
    return reverse("recruiting:finish", args=[campaign.pk])


def study_full(*, campaign: Campaign) -> bool:
    """Whether a newcomer would be served nothing: the campaign is not open, or no regular item has room."""
    if campaign.status != Campaign.Status.OPEN:
        return True
    # A user that rated and holds nothing: what serving would offer a new participant.
    fresh = User(pk=0)
    return assignment.rater_progress(campaign=campaign, rater=fresh).remaining == 0


@dataclass(frozen=True)
class Finish:
    """What the end page shows. `kind`: completed (the code), screened_out, full (return it, no code) or
    unfinished (the rater may go on; stopping now means returning the study)."""

    kind: str
    code: str = ""
    redirect_url: str = ""
    rated: int = 0
    left: int | None = None
    session: Session | None = None

    @property
    def done(self) -> bool:
        return self.kind != UNFINISHED


def _nothing_left(*, campaign: Campaign, rater: User) -> bool:
    if assignment.rater_campaign(rater=rater, campaign_id=campaign.pk) is None:
        return True  # closed, excluded or removed from the pool: nothing will be served
    return assignment.rater_progress(campaign=campaign, rater=rater).remaining == 0


def finish_state(*, campaign: Campaign, rater: User, now: datetime | None = None) -> Finish:
    """Where the rater's participation stands, for the end page (see the module's rules)."""
    recruiting = steps.recruiting_of(campaign)
    step = steps.next_step(campaign=campaign, rater=rater)
    if step == steps.SCREENED_OUT:
        # Never the completion URL: it carries the completion code.
        return Finish(SCREENED_OUT, recruiting.screened_out_code, recruiting.screened_out_url)
    rated = Rating.objects.filter(campaign=campaign, rater=rater).count()
    enrollment = Enrollment.objects.filter(campaign=campaign, user=rater).first()
    if enrollment is not None and enrollment.admitted_at is None:
        # Not yet through consent and practice: a full or closed study is over for them.
        if study_full(campaign=campaign):
            return Finish(FULL)
        return Finish(UNFINISHED)
    session = session_of(campaign=campaign, rater=rater, now=now)
    ended = (session is not None and session.over) or _nothing_left(campaign=campaign, rater=rater)
    if ended and rated:
        return Finish(
            COMPLETED, recruiting.completion_code, recruiting.completion_url, rated=rated, session=session
        )
    if ended:
        return Finish(FULL, rated=0, session=session)
    left = session.items_left if session is not None else None
    if left is None:
        left = assignment.rater_progress(campaign=campaign, rater=rater).remaining
    return Finish(UNFINISHED, rated=rated, left=left, session=session)
