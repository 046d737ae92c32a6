"""From the apps' events (core.events) to webhook deliveries.

Receivers run in the sender's process after its commit: they look for a hook that wants the event
and, only then, do anything more. Whether a campaign is complete or a rater flagged is judged by a
task on the `default` queue (never in the rating request), with the same selectors the campaign
page and the report use.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from api.models import Webhook, WebhookEvent
from api.webhooks import hooks_changed, hooks_for, hooks_want, queued_task, webhook_event_announce
from core.events import campaign_rated, campaign_settled, job_ended
from core.models import Job, JobStatus

JOB_KINDS = {"GenerationJob": "generation", "FinetuneJob": "finetune"}


def on_job_ended(sender: Any, job: Job, status: str, **kwargs: Any) -> None:
    kind = JOB_KINDS.get(type(job).__name__)
    if kind is None:
        return  # judge runs and imports are not among the events
    event = WebhookEvent.JOB_FINISHED if status == JobStatus.DONE else WebhookEvent.JOB_FAILED
    data: dict[str, Any] = {"kind": kind, "id": job.pk, "status": status, "error": job.error}
    if kind == "generation":
        data.update(model=job.model.name, eval_set=str(job.eval_set))  # type: ignore[attr-defined]
    else:
        data.update(name=job.name)  # type: ignore[attr-defined]
    finished = job.finished.isoformat() if job.finished else ""
    webhook_event_announce(event=event, key=f"{kind}:{job.pk}:{status}:{finished}", data=data)


def on_campaign_settled(sender: Any, campaign_id: int, **kwargs: Any) -> None:
    from annotate.models import Campaign

    if not hooks_for(WebhookEvent.CAMPAIGN_SETTLED):
        return
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.settled_at is None:
        return
    data = {
        "campaign_id": campaign.pk, "campaign": campaign.name, "rule": campaign.settled_rule,
        "ratings": campaign.settled_after, "settled_at": campaign.settled_at.isoformat(),
    }  # fmt: skip
    webhook_event_announce(
        event=WebhookEvent.CAMPAIGN_SETTLED,
        key=f"campaign:{campaign.pk}:{campaign.settled_at.isoformat()}",
        data=data,
    )


def on_campaign_rated(sender: Any, campaign_id: int, **kwargs: Any) -> None:
    if not hooks_want(WebhookEvent.CAMPAIGN_COMPLETE, WebhookEvent.RATER_FLAGGED):
        return
    queued_task("campaign_watch_task").delay(campaign_id)


def campaign_watch(*, campaign_id: int) -> None:
    """Announce a campaign's completion and each newly flagged rater (each once)."""
    from annotate.models import Campaign
    from annotate.selectors import campaign_progress
    from reports.campaign_report import campaign_report_source

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return
    base = {"campaign_id": campaign.pk, "campaign": campaign.name}
    if hooks_for(WebhookEvent.CAMPAIGN_COMPLETE):
        progress = campaign_progress(campaign=campaign)
        if progress.needed and progress.done >= progress.needed:
            data = {**base, "ratings": progress.ratings_total, "comparisons": progress.comparisons}
            webhook_event_announce(
                event=WebhookEvent.CAMPAIGN_COMPLETE, key=f"campaign:{campaign.pk}", data=data
            )
    if hooks_for(WebhookEvent.RATER_FLAGGED):
        for entry in campaign_report_source(campaign=campaign, texts=False).quality_flags or []:
            codes = ",".join(sorted(flag["flag"] for flag in entry["flags"]))
            data = {**base, "rater": entry["rater"], "excluded": entry["excluded"], "flags": entry["flags"]}
            key = f"campaign:{campaign.pk}:rater:{entry['rater']}:{codes}"
            webhook_event_announce(event=WebhookEvent.RATER_FLAGGED, key=key, data=data)


def connect() -> None:
    job_ended.connect(on_job_ended, dispatch_uid="api.webhooks.job_ended")
    campaign_settled.connect(on_campaign_settled, dispatch_uid="api.webhooks.campaign_settled")
    campaign_rated.connect(on_campaign_rated, dispatch_uid="api.webhooks.campaign_rated")
    post_save.connect(hooks_changed, sender=Webhook, dispatch_uid="api.webhooks.hook_saved")
    post_delete.connect(hooks_changed, sender=Webhook, dispatch_uid="api.webhooks.hook_deleted")
