"""/campaigns: create (every create_campaign option), list, get, open, close, progress, invites."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Router, Status
from ninja.pagination import paginate

from annotate.campaign_status import campaign_status_set
from annotate.models import Campaign
from annotate.recruiting.links import invite_create
from annotate.recruiting_models import Invite
from annotate.selectors import campaign_progress
from annotate.services import campaign_create
from api.errors import ApiError
from api.schemas.campaigns import CampaignIn, CampaignOut, InviteIn, InviteOut, ProgressOut
from eval_sets.selectors import eval_set_resolve

router = Router(tags=["campaigns"])


def campaign_out(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk, "name": campaign.name, "title": campaign.title, "status": campaign.status,
        "eval_set": str(campaign.eval_set), "systems": campaign.system_names(),
        "comparisons": campaign.comparisons.count(), "stop_when_settled": campaign.stop_when_settled,
        "settled_rule": campaign.settled_rule, "created": campaign.created,
    }  # fmt: skip


def campaign_get_or_404(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("eval_set"), pk=campaign_id)


@router.post("", response={201: CampaignOut, 200: CampaignOut}, summary="Create and build a campaign")
def create(request: HttpRequest, payload: CampaignIn) -> Status:
    """What `create_campaign` does, with every one of its options. A campaign of that name built from
    the same set and systems answers 200 with it: a retried request builds nothing twice."""
    existing = Campaign.objects.filter(name=payload.name.strip()).select_related("eval_set").first()
    if existing is not None and existing.system_names() == payload.systems:
        return Status(200, campaign_out(existing))
    try:
        eval_set = eval_set_resolve(spec=payload.eval_set)
    except ValueError as exc:
        raise ApiError(str(exc), field="eval_set") from None
    users = {u.username: u for u in User.objects.filter(username__in=payload.raters)}
    unknown = [name for name in payload.raters if name not in users]
    if unknown:
        raise ApiError(f"no user named {', '.join(unknown)}", field="raters")
    options: dict[str, Any] = {}
    if payload.min_seconds is not None:
        options["min_seconds"] = payload.min_seconds
    if payload.instructions:
        options["instructions"] = payload.instructions
    campaign = campaign_create(
        name=payload.name, title=payload.title, eval_set=eval_set, systems=payload.systems,
        pairing=payload.pairing, baseline=payload.baseline, ratings_per_comparison=payload.ratings_per_item,
        overlap=payload.overlap, gold_fraction=payload.gold, quota_per_rater=payload.quota_per_rater,
        raters=[users[name] for name in payload.raters], created_by=request.auth,  # type: ignore[attr-defined]
        seed=payload.seed, answered_only=payload.answered_only, stop_when_settled=payload.stop_when_settled,
        precision=payload.precision, open_now=payload.open, rate=payload.rate, **options,
    )  # fmt: skip
    return Status(201, campaign_out(campaign))


@router.get("", response=list[CampaignOut], summary="List campaigns")
@paginate
def list_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    return [campaign_out(c) for c in Campaign.objects.select_related("eval_set").order_by("-created")]


@router.get("/{int:campaign_id}", response=CampaignOut, summary="Get a campaign")
def get_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return campaign_out(campaign_get_or_404(campaign_id))


@router.post("/{int:campaign_id}/open", response=CampaignOut, summary="Open a campaign to raters")
def open_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    campaign = campaign_get_or_404(campaign_id)
    return campaign_out(campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN))


@router.post("/{int:campaign_id}/close", response=CampaignOut, summary="Close a campaign")
def close_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    campaign = campaign_get_or_404(campaign_id)
    return campaign_out(campaign_status_set(campaign=campaign, status=Campaign.Status.CLOSED))


@router.get("/{int:campaign_id}/progress", response=ProgressOut, summary="Ratings done against needed")
def progress(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    figures = campaign_progress(campaign=campaign_get_or_404(campaign_id))
    return {
        "comparisons": figures.comparisons, "needed": figures.needed, "done": figures.done,
        "complete": figures.needed > 0 and figures.done >= figures.needed,
        "ratings_total": figures.ratings_total, "ratings_last_hour": figures.ratings_last_hour,
        "ratings_per_hour": figures.ratings_per_hour, "median_seconds": figures.median_seconds,
    }  # fmt: skip


def invite_out(request: HttpRequest, invite: Invite) -> dict[str, Any]:
    url = request.build_absolute_uri(reverse("recruiting:invite", args=[invite.token]))
    return {
        "id": invite.pk, "url": url, "label": invite.label, "expires": invite.expires,
        "max_uses": invite.max_uses, "uses": invite.uses,
    }  # fmt: skip


@router.post("/{int:campaign_id}/invites", response={201: InviteOut}, summary="Make an invite link")
def invite_new(request: HttpRequest, campaign_id: int, payload: InviteIn) -> Status:
    invite = invite_create(
        campaign=campaign_get_or_404(campaign_id), created_by=request.auth,  # type: ignore[attr-defined]
        label=payload.label, expires=payload.expires, max_uses=payload.max_uses,
    )  # fmt: skip
    return Status(201, invite_out(request, invite))


@router.get("/{int:campaign_id}/invites", response=list[InviteOut], summary="List a campaign's invites")
@paginate
def invite_list(request: HttpRequest, campaign_id: int) -> list[dict[str, Any]]:
    campaign = campaign_get_or_404(campaign_id)
    return [invite_out(request, i) for i in campaign.invites.filter(revoked=False)]
