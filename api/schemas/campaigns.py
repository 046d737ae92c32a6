"""Campaigns, invites and progress."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field


class CampaignIn(Schema):
    """Every option of `create_campaign` (and the campaign form's extra ones)."""

    name: str
    eval_set: str = Field(description="NAME (newest version) or NAME@vN")
    systems: list[str] = Field(min_length=2)
    baseline: str | None = None
    pairing: str | None = Field(default=None, description="all_pairs or baseline")
    ratings_per_item: int = 1
    overlap: float = 0.0
    gold: float = 0.0
    quota_per_rater: int | None = None
    min_seconds: float | None = None
    instructions: str = ""
    title: str = ""
    raters: list[str] = Field(default_factory=list, description="usernames of raters")
    seed: int | None = None
    answered_only: bool = False
    stop_when_settled: bool = False
    precision: float | None = None
    open: bool = False
    rate: str = Field(
        default="per-turn",
        description="conversations: per-turn (every turn) or conversation (after the last)",
    )


class CampaignOut(Schema):
    id: int
    name: str
    title: str
    status: str
    eval_set: str
    systems: list[str]
    comparisons: int
    stop_when_settled: bool
    settled_rule: str
    created: datetime


class ProgressOut(Schema):
    comparisons: int
    needed: int
    done: int
    complete: bool
    ratings_total: int
    ratings_last_hour: int
    ratings_per_hour: float | None
    median_seconds: float | None


class InviteIn(Schema):
    label: str = ""
    expires: datetime | None = None
    max_uses: int | None = None


class InviteOut(Schema):
    id: int
    url: str
    label: str
    expires: datetime | None
    max_uses: int | None
    uses: int
