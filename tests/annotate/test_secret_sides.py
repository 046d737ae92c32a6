"""Finding 4: sides built with --seed come from HMAC(SECRET_KEY, seed), not from the seed alone."""

import random

from django.core.management import call_command

from annotate.models import Campaign
from annotate.services.campaigns import balanced_sides
from tests.factories import make_eval_set, make_system

N_PROMPTS = 190


def build(name: str, eval_set, seed: int) -> list[str]:
    call_command("create_campaign", name, eval_set=eval_set.name, systems=["sys-a", "sys-b"], seed=seed)
    campaign = Campaign.objects.get(name=name)
    return list(campaign.comparisons.order_by("prompt__position").values_list("system_on_left", flat=True))


def test_a_known_seed_no_longer_predicts_the_sides_but_rebuilds_them_on_the_same_site(db, settings):
    eval_set = make_eval_set(name="sides", n_prompts=N_PROMPTS)
    for system in ("sys-a", "sys-b"):
        make_system(system, eval_set)
    first = build("sides-1", eval_set, seed=0)
    assert build("sides-2", eval_set, seed=0) == first, "same seed, same site: the same layout"

    # What an attacker who knows the seed would compute with the old rule.
    replay = balanced_sides(group_sizes=[N_PROMPTS], rng=random.Random(0))[0]
    hits = sum(a == b for a, b in zip(first, replay, strict=True))
    # Chance is 95 of 190; 120 or more happens by chance with probability below 1e-3.
    assert hits < 120, f"{hits} of {N_PROMPTS} sides predicted from the seed alone"

    settings.SECRET_KEY = "another-installation-" + "x" * 40
    other = build("sides-3", eval_set, seed=0)
    assert other != first, "another site's secret gives another layout"
