"""Invite links and crowd-platform entry: checking a link, joining through it, creating nothing on bad input.

Every check runs before any write, inside one transaction holding the invite's row, so an expired,
revoked, exhausted or forged link, or a malformed external id, leaves the database as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import Campaign
from annotate.recruiting.sessions import study_full
from annotate.recruiting_models import PROLIFIC_PARAMS, CampaignRecruiting, Enrollment, ExternalRater, Invite
from core.users import UserInputError, crowd_username, user_create

# Prolific ids are 24 hex characters; MTurk's are upper-case alphanumerics. Anything else is refused.
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


class LinkError(Exception):
    """The link or its parameters cannot be used; the message is shown to the person."""


class StudyFull(LinkError):
    """Nothing is left to serve a newcomer: the person should return the study (there is no code)."""

    def __init__(self) -> None:
        super().__init__(
            "This study is full: there is nothing left to rate. Please return it on the platform you "
            "came from (there is no completion code, as no work was done)."
        )


def invite_create(
    *,
    campaign: Campaign,
    created_by: User | None = None,
    label: str = "",
    expires: datetime | None = None,
    max_uses: int | None = None,
) -> Invite:
    if max_uses is not None and max_uses < 1:
        raise LinkError("the maximum number of uses must be at least 1")
    if expires is not None and expires <= timezone.now():
        raise LinkError("the expiry must be in the future")
    return Invite.objects.create(
        campaign=campaign,
        created_by=created_by,
        label=label.strip()[:200],
        expires=expires,
        max_uses=max_uses,
    )


def invite_revoke(*, invite: Invite) -> None:
    invite.revoked = True
    invite.save(update_fields=["revoked"])


def invite_problem(invite: Invite | None, *, now: datetime | None = None) -> str | None:
    """Why the invite cannot be used now, or None when it can."""
    now = now or timezone.now()
    if invite is None:
        return "This invitation link is not valid. Check that you copied all of it."
    if invite.revoked:
        return "This invitation link has been withdrawn by the researchers."
    if invite.expires is not None and invite.expires <= now:
        return "This invitation link has expired."
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "This invitation link has been used as many times as it allows."
    if invite.campaign.status == Campaign.Status.CLOSED:
        return "This study is closed."
    return None


def invite_lookup(*, token: str) -> Invite:
    """The usable invite for `token`; `LinkError` saying why not otherwise."""
    invite = Invite.objects.select_related("campaign").filter(token=token).first() if token else None
    problem = invite_problem(invite)
    if problem:
        raise LinkError(problem)
    assert invite is not None
    return invite


def _enroll(*, campaign: Campaign, user: User, invite: Invite | None = None) -> Enrollment:
    enrollment, _ = Enrollment.objects.get_or_create(
        campaign=campaign, user=user, defaults={"invite": invite}
    )
    return enrollment


@transaction.atomic
def invite_accept(*, token: str, user: User) -> Enrollment:
    """Enrol `user` through the invite (a use is counted once per person); `LinkError` if it cannot be used."""
    invite = Invite.objects.select_for_update().filter(token=token).first() if token else None
    existing = (
        Enrollment.objects.filter(campaign_id=invite.campaign_id, user=user).first() if invite else None
    )
    if existing is not None:
        return existing  # coming back through the same link is not a new use
    problem = invite_problem(invite)
    if problem:
        raise LinkError(problem)
    assert invite is not None
    invite.uses += 1
    invite.save(update_fields=["uses"])
    return _enroll(campaign=invite.campaign, user=user, invite=invite)


@transaction.atomic
def invite_signup(*, token: str, username: str, password: str) -> User:
    """Create a rater account with Django's password validators and enrol it; nothing is created on error."""
    invite_lookup(token=token)
    try:
        validate_password(password, user=User(username=username))
    except ValidationError as exc:
        raise LinkError(" ".join(exc.messages)) from None
    try:
        user = user_create(username=username.strip(), role="rater", password=password)
    except (ValueError, ValidationError) as exc:
        raise LinkError(str(exc)) from None
    invite_accept(token=token, user=user)
    return user


def external_params(*, recruiting: CampaignRecruiting, query: Mapping[str, str]) -> tuple[str, str, str]:
    """(external id, study id, session id) from the entry URL's query; `LinkError` on anything malformed."""
    names = [recruiting.external_param, "PROLIFIC_PID"]
    external_id = next((query[n] for n in names if query.get(n)), "")
    if not external_id:
        raise LinkError(f"The link lacks your participant id ({recruiting.external_param}).")
    study, session = query.get(PROLIFIC_PARAMS[1], ""), query.get(PROLIFIC_PARAMS[2], "")
    for label, value in (("participant id", external_id), ("study id", study), ("session id", session)):
        if value and not EXTERNAL_ID.match(value):
            raise LinkError(f"The {label} in the link is malformed.")
    return external_id, study, session


def external_username(*, campaign: Campaign, external_id: str) -> str:
    return crowd_username(campaign_id=campaign.pk, external_id=external_id)


@dataclass(frozen=True)
class Entry:
    """A checked crowd entry: the campaign's settings, the ids from the query, the rater already bound."""

    recruiting: CampaignRecruiting
    external_id: str
    study: str
    session: str
    bound: ExternalRater | None


def _bound_rater(*, campaign: Campaign, external_id: str) -> ExternalRater | None:
    return (
        ExternalRater.objects.select_related("user")
        .filter(campaign=campaign, external_id=external_id)
        .first()
    )


def external_check(*, entry_token: str, query: Mapping[str, str]) -> Entry:
    """Check the crowd URL without writing anything; `LinkError` (or `StudyFull`) says why it cannot be used.

    A participant already bound may always come back, even to a closed or full study, to reach their
    end page; a newcomer is refused when the campaign is not open or has nothing left to serve.
    """
    recruiting = (
        CampaignRecruiting.objects.select_related("campaign").filter(entry_token=entry_token).first()
        if entry_token
        else None
    )
    if recruiting is None or not recruiting.accept_external:
        raise LinkError("This study link is not valid.")
    campaign = recruiting.campaign
    external_id, study, session = external_params(recruiting=recruiting, query=query)
    if recruiting.platform_study_id and study != recruiting.platform_study_id:
        raise LinkError("This link belongs to another study (its STUDY_ID does not match).")
    bound = _bound_rater(campaign=campaign, external_id=external_id)
    if bound is None:
        if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.BUILDING):
            raise LinkError("This study is not open at the moment.")
        if study_full(campaign=campaign):
            raise StudyFull()
    return Entry(recruiting, external_id, study, session, bound)


def _resume(bound: ExternalRater, *, study: str, session: str) -> ExternalRater:
    bound.last_seen = timezone.now()
    # The first study and session ids are the ones payments are reconciled on; fill only blanks.
    bound.study_id = bound.study_id or study
    bound.session_id = bound.session_id or session
    bound.save(update_fields=["last_seen", "study_id", "session_id"])
    return bound


@transaction.atomic
def external_enter(*, entry_token: str, query: Mapping[str, str]) -> ExternalRater:
    """Create or resume the rater bound to the external id in the query; `LinkError` creates nothing.

    The same id entering twice at once (two tabs, a resent request) ends with one rater: the second
    creation fails on the unique username, and the rater the first one made is resumed.
    """
    entry = external_check(entry_token=entry_token, query=query)
    campaign = entry.recruiting.campaign
    if entry.bound is not None:
        return _resume(entry.bound, study=entry.study, session=entry.session)
    username = external_username(campaign=campaign, external_id=entry.external_id)
    try:
        with transaction.atomic():
            user = user_create(username=username, role="rater", password=None, crowd=True)
            _enroll(campaign=campaign, user=user)
            return ExternalRater.objects.create(
                campaign=campaign,
                user=user,
                external_id=entry.external_id,
                study_id=entry.study,
                session_id=entry.session,
            )
    except (IntegrityError, UserInputError):
        pass
    # Another request for this id won the race (it committed before our insert failed), or an
    # account of this name exists that is not this participant's.
    bound = _bound_rater(campaign=campaign, external_id=entry.external_id)
    if bound is None:
        raise LinkError("This participant id cannot be used here.")
    return _resume(bound, study=entry.study, session=entry.session)


def external_ids(*, campaign: Campaign) -> dict[int, tuple[str, str, str]]:
    """rater id -> (external id, study id, session id) for the campaign's crowd raters."""
    rows = ExternalRater.objects.filter(campaign=campaign).values_list(
        "user_id", "external_id", "study_id", "session_id"
    )
    return {user_id: (ext, study, session) for user_id, ext, study, session in rows}
