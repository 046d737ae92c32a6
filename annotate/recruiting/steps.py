"""The steps between joining and rating: consent, the practice round with feedback, qualification.

A rater joins the campaign's pool only when every step is done (`enrollment_advance`); a rater below
the qualification threshold is marked screened out and never joins. Practice answers are stored as
`PracticeAnswer`, never as ratings.

Practice feedback and the qualification test (`feedback_open`): with no threshold the practice round
only teaches, and each answer is followed by the expected one and the explanation. With a threshold
the round is a test, and per-item feedback would be its answer key: anyone could enter once with a
throwaway participant id, read the expected answers, and pass with their real id. So while the round
is a test, nothing about correctness is shown until the whole round is scored: a screened-out rater
learns only that they did not qualify (one bit per attempt, never which items were wrong), and an
admitted rater then sees the feedback for every item, which can no longer help anyone they could be.
A campaign may further tie crowd ids to its study (`platform_study_id`, checked at the crowd entry),
so that ids made up outside the platform's study are refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import Campaign
from annotate.pair_files import PairFileError, pair_file_read
from annotate.recruiting_models import (
    CampaignRecruiting,
    ConsentRecord,
    Enrollment,
    PracticeAnswer,
    PracticeItem,
)
from core.seeding import secret_rng

SIDES = ("left", "right", "tie", "both_bad")
CONSENT, PRACTICE, SCREENED_OUT, RATE, NOT_ENROLLED = (
    "consent",
    "practice",
    "screened_out",
    "rate",
    "not_enrolled",
)


class StepError(Exception):
    """The step cannot be taken; the message is shown to the rater."""


def recruiting_of(campaign: Campaign) -> CampaignRecruiting:
    """The campaign's recruiting settings, created with the defaults (nothing required) on first use."""
    recruiting, _ = CampaignRecruiting.objects.get_or_create(campaign=campaign)
    return recruiting


def consent_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def practice_items(*, campaign: Campaign, recruiting: CampaignRecruiting) -> list[PracticeItem]:
    return list(PracticeItem.objects.filter(campaign=campaign)[: recruiting.practice_items])


@dataclass(frozen=True)
class PracticeScore:
    correct: int
    answered: int
    total: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.correct / self.answered if self.answered else None


def practice_score(*, campaign: Campaign, rater: User) -> PracticeScore:
    recruiting = recruiting_of(campaign)
    items = practice_items(campaign=campaign, recruiting=recruiting)
    answers = PracticeAnswer.objects.filter(item__in=items, rater=rater)
    return PracticeScore(
        correct=sum(1 for a in answers if a.correct), answered=answers.count(), total=len(items)
    )


def next_step(*, campaign: Campaign, rater: User) -> str:
    """Where the rater stands: consent, practice, screened_out, rate (admitted) or not_enrolled."""
    enrollment = Enrollment.objects.filter(campaign=campaign, user=rater).first()
    if enrollment is None:
        return NOT_ENROLLED
    if enrollment.screened_out_at is not None:
        return SCREENED_OUT
    if enrollment.admitted_at is not None:
        return RATE
    recruiting = recruiting_of(campaign)
    if (
        recruiting.consent_text.strip()
        and not ConsentRecord.objects.filter(
            campaign=campaign, user=rater, text_sha256=consent_hash(recruiting.consent_text)
        ).exists()
    ):
        return CONSENT
    score = practice_score(campaign=campaign, rater=rater)
    if score.answered < score.total:
        return PRACTICE
    return RATE


@transaction.atomic
def enrollment_advance(*, campaign: Campaign, rater: User) -> str:
    """Take the rater as far as they have earned: screen out below the threshold, or admit to the pool."""
    step = next_step(campaign=campaign, rater=rater)
    if step != RATE:
        return step
    enrollment = Enrollment.objects.select_for_update().get(campaign=campaign, user=rater)
    if enrollment.admitted_at is not None:
        return RATE
    recruiting = recruiting_of(campaign)
    score = practice_score(campaign=campaign, rater=rater)
    threshold = recruiting.qualification_percent
    if threshold is not None and score.total and (score.percent or 0.0) < threshold:
        enrollment.screened_out_at = timezone.now()
        enrollment.save(update_fields=["screened_out_at"])
        return SCREENED_OUT
    enrollment.admitted_at = timezone.now()
    enrollment.save(update_fields=["admitted_at"])
    campaign.raters.add(rater)
    return RATE


def consent_accept(*, campaign: Campaign, rater: User) -> ConsentRecord:
    recruiting = recruiting_of(campaign)
    if not recruiting.consent_text.strip():
        raise StepError("this study asks for no consent")
    record, _ = ConsentRecord.objects.get_or_create(
        campaign=campaign, user=rater, text_sha256=consent_hash(recruiting.consent_text)
    )
    return record


def practice_next(*, campaign: Campaign, rater: User) -> PracticeItem | None:
    recruiting = recruiting_of(campaign)
    done = set(
        PracticeAnswer.objects.filter(rater=rater, item__campaign=campaign).values_list("item_id", flat=True)
    )
    return next(
        (i for i in practice_items(campaign=campaign, recruiting=recruiting) if i.pk not in done), None
    )


def side_to_choice(item: PracticeItem, side: str) -> str:
    if side == "left":
        return item.text_on_left
    if side == "right":
        return "b" if item.text_on_left == "a" else "a"
    return side


def answer_as_side(item: PracticeItem) -> str:
    """The expected answer as the rater saw it: left, right, tie or both_bad."""
    if item.answer in ("a", "b"):
        return "left" if item.answer == item.text_on_left else "right"
    return item.answer


def _answer_of(item: PracticeItem, rater: User) -> PracticeAnswer | None:
    return PracticeAnswer.objects.filter(item=item, rater=rater).first()


@transaction.atomic
def practice_answer(*, campaign: Campaign, rater: User, item_id: int, side: str) -> PracticeAnswer:
    """Record the rater's practice answer (the first one counts; a resend returns it unchanged)."""
    if side not in SIDES:
        raise StepError(f"unknown choice {side!r}")
    item = PracticeItem.objects.filter(campaign=campaign, pk=item_id).first()
    if item is None or item not in practice_items(campaign=campaign, recruiting=recruiting_of(campaign)):
        raise StepError("unknown practice item")
    existing = _answer_of(item, rater)
    if existing is not None:
        return existing
    choice = side_to_choice(item, side)
    try:
        # Answers sent at once (a double click, several tabs) race past the check above; the unique
        # constraint decides, and the loser returns the answer that was stored.
        with transaction.atomic():
            return PracticeAnswer.objects.create(
                item=item, rater=rater, side=side, choice=choice, correct=choice == item.answer
            )
    except IntegrityError:
        return PracticeAnswer.objects.get(item=item, rater=rater)


def feedback_open(*, campaign: Campaign, rater: User) -> bool:
    """Whether the rater may see practice correctness now (see the module's note on the answer key)."""
    if recruiting_of(campaign).qualification_percent is None:
        return True
    enrollment = Enrollment.objects.filter(campaign=campaign, user=rater).only("admitted_at").first()
    return enrollment is not None and enrollment.admitted_at is not None


@transaction.atomic
def practice_upload(
    *, campaign: Campaign, data: bytes, filename: str = "practice items", seed: int | None = None
) -> int:
    """Add practice items from JSONL: `{"prompt", "text_a", "text_b", "answer", "explanation"}` a line."""
    try:
        pairs = pair_file_read(data=data, filename=filename, text_fields=("prompt", "text_a", "text_b"))
    except PairFileError as exc:
        raise StepError(str(exc)) from None
    rng = secret_rng(seed=seed, purpose="practice-sides")
    start = PracticeItem.objects.filter(campaign=campaign).count()
    rows: list[PracticeItem] = []
    for where, pair in pairs:
        explanation = pair.get("explanation", "")
        if not isinstance(explanation, str):
            raise StepError(f"{where}: explanation must be text")
        rows.append(
            PracticeItem(
                campaign=campaign,
                position=start + len(rows),
                prompt_text=pair["prompt"],
                text_a=pair["text_a"],
                text_b=pair["text_b"],
                text_on_left=rng.choice("ab"),
                answer=pair["answer"],
                explanation=explanation,
            )
        )
    PracticeItem.objects.bulk_create(rows)
    return len(rows)
