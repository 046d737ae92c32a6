from django.utils import timezone

from annotate.models import Campaign
from annotate.services import campaign_create, campaign_status_set
from core.models import JobStatus
from finetune.models import FinetuneJob
from generation.models import GenerationJob
from tests.factories import make_eval_set, make_system


def test_the_dashboard_shows_models_jobs_campaigns_and_the_way_to_each_step(researcher_client):
    eval_set = make_eval_set(name="dash-set", n_prompts=4)
    base = make_system("dash-base", eval_set)
    make_system("dash-flan", eval_set)
    GenerationJob.objects.create(
        model=base, eval_set=eval_set, status=JobStatus.RUNNING, prompts_total=4, prompts_done=1
    )
    FinetuneJob.objects.create(
        name="dash-next",
        base_model=base,
        mixture_path="m.yaml",
        status=JobStatus.DONE,
        finished=timezone.now(),
    )
    campaign = campaign_create(name="dash-campaign", eval_set=eval_set, systems=["dash-base", "dash-flan"])
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)

    page = researcher_client.get("/dashboard/").content.decode()
    for text in ("dash-base", "dash-flan", "dash-campaign", "dash-next", "1 / 4 prompts", "0 / 4"):
        assert text in page, text
    for url in (
        "/eval-sets/upload/",
        "/finetune/new/",
        "/generation/jobs/new/",
        "/campaigns/new/",
        "/reports/",
    ):
        assert f'href="{url}"' in page, url


def test_the_models_card_shows_each_models_description_not_where_it_comes_from(researcher_client):
    from generation.models import ModelSpec

    ModelSpec.objects.create(
        name="described", path="/models/described", description="Tiny Llama pretrained on the demo prose."
    )
    ModelSpec.objects.create(name="bare", path="org/bare-7b")
    page = researcher_client.get("/dashboard/").content.decode()
    card = page[page.index('id="h-models"') :]
    card = card[: card.index("</section>")]
    assert "Tiny Llama pretrained on the demo prose." in card
    assert "org/bare-7b" in card  # no description: what it is loaded from
    assert "Hugging Face id or local directory" not in card and "In-process" not in card
