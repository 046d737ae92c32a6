"""The migration that stores thresholds fills them in for samples of jobs run before it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("generation", "0003_min_new_tokens")]
AFTER = [("generation", "0004_sample_threshold")]


@pytest.mark.django_db(transaction=True)
def test_samples_stored_before_the_threshold_field_get_their_prompts_threshold():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        _check_threshold_fill(executor)
    finally:
        # Later tests share this database: leave every app at its latest migration again.
        MigrationExecutor(connection).migrate(latest)


def _check_threshold_fill(executor: MigrationExecutor) -> None:
    executor.migrate(BEFORE)
    # Unapplying generation also unapplied the apps that depend on it; eval_sets does not.
    eval_sets = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "eval_sets"]
    old = executor.loader.project_state([*eval_sets, *BEFORE]).apps
    eval_set = old.get_model("eval_sets", "EvalSet").objects.create(
        name="old", version=1, content_hash="h", source_format="jsonl", source_file="old.jsonl"
    )
    prompt = old.get_model("eval_sets", "Prompt").objects.create(
        eval_set=eval_set, uid="p0", position=0, category="general", text="x"
    )
    spec = old.get_model("generation", "ModelSpec").objects.create(name="m", path="org/m")
    Job = old.get_model("generation", "GenerationJob")
    Sample = old.get_model("generation", "Sample")
    for policy, scores in (("paper", [-4.0, -2.0, -10.0]), ("none", [-1.0, -3.0, -5.0])):
        job = Job.objects.create(model=spec, eval_set=eval_set, selection_policy=policy)
        for index, score in enumerate(scores):
            Sample.objects.create(
                job=job, prompt=prompt, index=index, text="t", logprob_sum=score, finish_reason="eos"
            )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("generation", "Sample")
    thresholds = dict(new.objects.values_list("job__selection_policy", "threshold").distinct())
    assert thresholds == {"paper": -2.0, "none": None}
