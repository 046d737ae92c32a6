"""The Celery task of a campaign's build job (queue `default`): a thin wrapper around the runner.

Not in annotate/tasks.py: the services queue settling through that module, and the build runner
uses the services, so importing it from there would close an import cycle. The worker finds this
module through CELERY_IMPORTS (config/settings.py).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def campaign_build_task(build_id: int) -> str:
    from annotate.build_runner import campaign_build_run

    return str(campaign_build_run(build_id=build_id).status)
