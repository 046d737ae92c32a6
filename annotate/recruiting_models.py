"""Recruiting raters into a campaign: invite links, crowd-platform entry, consent, the practice round.

These live in the annotate app (annotate.models imports them; the recruiting pages are in annotate.recruiting). Practice answers are kept apart from
ratings on purpose: they can never reach a report, an export or a count.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

PROLIFIC_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")


def new_link_token() -> str:
    return secrets.token_urlsafe(24)


class CampaignRecruiting(models.Model):
    """A campaign's recruiting settings; a campaign without a row has none of it (no consent, no practice)."""

    campaign = models.OneToOneField("annotate.Campaign", on_delete=models.CASCADE, related_name="recruiting")
    # The crowd entry URL carries this instead of the campaign's id, so it cannot be guessed.
    entry_token = models.CharField(max_length=64, unique=True, default=new_link_token)
    accept_external = models.BooleanField(
        default=False,
        help_text="Let people in through the crowd entry URL with an external id and no password.",
    )
    external_param = models.CharField(
        max_length=40,
        default="PROLIFIC_PID",
        help_text="The query parameter that carries the external id (Prolific: PROLIFIC_PID; MTurk: workerId).",
    )
    consent_text = models.TextField(
        blank=True, help_text="Markdown; when set, raters accept it before the first item."
    )
    practice_items = models.PositiveIntegerField(
        default=0, help_text="Practice items served first, each followed by feedback (0: no practice round)."
    )
    qualification_percent = models.FloatField(
        null=True,
        blank=True,
        help_text="A rater below this % correct on the practice round is served nothing else.",
    )
    gold_accuracy_min = models.FloatField(
        default=0.6, help_text="The quality flag's threshold: gold accuracy below this is flagged."
    )
    completion_code = models.CharField(max_length=100, blank=True)
    screened_out_code = models.CharField(max_length=100, blank=True)
    completion_url = models.URLField(
        blank=True,
        help_text="Where a finished rater is sent (Prolific's completion URL), after seeing the code.",
    )
    # Apart from the completion URL on purpose: that one carries the completion code (?cc=).
    screened_out_url = models.URLField(
        blank=True,
        help_text="Where a screened-out rater is sent (optional; never the completion URL, which carries its code).",
    )
    session_items = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A crowd participant's session ends after this many ratings (then the completion code).",
    )
    session_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Or after this many minutes from the start of rating (a rating begun in time still counts).",
    )
    platform_study_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="When set, the crowd URL's STUDY_ID must be this (ids from another study are refused).",
    )

    def __str__(self) -> str:
        return f"recruiting of {self.campaign_id}"


class Invite(models.Model):
    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=64, unique=True, default=new_link_token)
    label = models.CharField(max_length=200, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    revoked = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"invite {self.pk} to {self.campaign_id}"


class Enrollment(models.Model):
    """A person who came in through an invite or the crowd entry and is on their way into the pool.

    They join the campaign's pool (and are served items) only once consent and the practice round are
    done: the rating endpoints' own pool check then enforces every step, with no extra query.
    """

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invite = models.ForeignKey(
        Invite, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments"
    )
    created = models.DateTimeField(default=timezone.now)
    admitted_at = models.DateTimeField(null=True, blank=True)
    screened_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "user"], name="enrollment_once")]

    def __str__(self) -> str:
        return f"enrollment of {self.user_id} in {self.campaign_id}"


class ExternalRater(models.Model):
    """A rater account bound to a crowd platform's participant id in one campaign (no password)."""

    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="external_raters"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=64)
    study_id = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "external_id"], name="external_rater_unique"),
            models.UniqueConstraint(fields=["campaign", "user"], name="external_rater_user_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} in {self.campaign_id}"


class ConsentRecord(models.Model):
    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="consents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)
    # Which text was accepted: a later edit of the consent text asks again.
    text_sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user", "text_sha256"], name="consent_once_per_text")
        ]

    def __str__(self) -> str:
        return f"consent of {self.user_id} to {self.campaign_id} at {self.accepted_at:%Y-%m-%d %H:%M}"


class PracticeItem(models.Model):
    """A practice pair with its expected answer (a/b/tie/both_bad names a text) and the researcher's explanation."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="practice")
    position = models.PositiveIntegerField(default=0)
    prompt_text = models.TextField()
    text_a = models.TextField()
    text_b = models.TextField()
    text_on_left = models.CharField(
        max_length=1, default="a", help_text="Which text (a or b) is shown on the left."
    )
    answer = models.CharField(max_length=8)
    explanation = models.TextField(blank=True)

    class Meta:
        ordering = ["campaign", "position", "pk"]

    def __str__(self) -> str:
        return f"practice item {self.pk} of {self.campaign_id}"


class PracticeAnswer(models.Model):
    item = models.ForeignKey(PracticeItem, on_delete=models.CASCADE, related_name="answers")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    side = models.CharField(max_length=8)
    choice = models.CharField(max_length=8)
    correct = models.BooleanField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "rater"], name="practice_answer_once")]

    def __str__(self) -> str:
        return f"practice answer {self.pk}: {self.choice}"
