"""A comparison's two responses live in their own table (annotate.models.ComparisonTexts)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from annotate.assignment import item_next
from annotate.models import Comparison, ComparisonTexts

BEFORE = [("annotate", "0004_comparison_taken_counter")]
AFTER = [("annotate", "0005_comparison_texts")]


def test_a_built_campaign_has_both_responses_of_every_comparison_beside_it(campaign_factory, make_rater):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=4, raters=[rater])
    texts = ComparisonTexts.objects.filter(comparison__campaign=campaign).select_related(
        "comparison__sample_a"
    )
    assert texts.count() == Comparison.objects.filter(campaign=campaign).count() == 4
    assert all(t.comparison.sample_a and t.text_a == t.comparison.sample_a.text for t in texts)
    served = item_next(campaign=campaign, rater=rater)
    assert served is not None and served.texts.text_b  # read with the served item, not after


def test_deleting_a_campaign_deletes_its_responses(campaign_factory):
    campaign = campaign_factory(n_prompts=3)
    campaign.delete()
    assert not ComparisonTexts.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_responses_out_and_back_unchanged():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        # Unapplying annotate left eval_sets at its latest state (Prompt.turns included): use that.
        eval_sets = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "eval_sets"]
        old = executor.loader.project_state([*eval_sets, *BEFORE]).apps
        pks = _old_comparisons(old)
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("annotate", "ComparisonTexts")
        moved = {t.comparison_id: (t.text_a, t.text_b) for t in new.objects.all()}
        assert moved == {pk: (f"a{i} " * 300, f"b{i}") for i, pk in enumerate(pks)}
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        back = executor.loader.project_state(BEFORE).apps.get_model("annotate", "Comparison")
        assert dict(back.objects.values_list("pk", "text_a")) == {
            pk: f"a{i} " * 300 for i, pk in enumerate(pks)
        }
    finally:
        # Later tests share this database: leave every app at its latest migration again.
        MigrationExecutor(connection).migrate(latest)


def _old_comparisons(old) -> list[int]:
    eval_set = old.get_model("eval_sets", "EvalSet").objects.create(
        name="old", version=1, content_hash="h", source_format="jsonl", source_file="old.jsonl"
    )
    prompt = old.get_model("eval_sets", "Prompt").objects.create(
        eval_set=eval_set, uid="p0", position=0, category="general", text="x"
    )
    campaign = old.get_model("annotate", "Campaign").objects.create(name="old", eval_set=eval_set)
    Comparison = old.get_model("annotate", "Comparison")
    rows = [
        Comparison.objects.create(
            campaign=campaign,
            prompt=prompt,
            text_a=f"a{i} " * 300,
            text_b=f"b{i}",
            left="a",  # the field's name in that migration's state
            token=f"t{i}",
        )
        for i in range(3)
    ]
    return [c.pk for c in rows]
