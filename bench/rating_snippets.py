"""The Django shell code `rating_load` runs in the server's environment: build a campaign, then check it."""

# Formatted with name, n_raters and n_prompts; prints BENCH_JSON with the campaign and sessions.
SETUP = r"""
import json, sys
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, BACKEND_SESSION_KEY
from core.users import user_create
from core.models import JobStatus
from eval_sets.models import EvalSet, Prompt
from generation.models import GenerationJob, ModelSpec, Sample
from annotate.services import campaign_create
from annotate.models import Campaign

n_raters, n_prompts = {n_raters}, {n_prompts}
es = EvalSet.objects.create(name="{name}", version=1, content_hash="{name}", source_format="jsonl")
prompts = Prompt.objects.bulk_create(
    Prompt(eval_set=es, uid=f"b{{i:05d}}", position=i, category=["writing", "coding"][i % 2], text=f"Prompt {{i}}: write a function and explain it.")
    for i in range(n_prompts)
)
body = "Here is an answer with **Markdown**.\n\n```python\ndef f(x):\n    return x * 2\n```\n\n" + "Some explanation. " * 40
for name in ("bench-a", "bench-b"):
    m, _ = ModelSpec.objects.get_or_create(name=name, defaults={{"path": "/bench/" + name}})
    job = GenerationJob.objects.create(model=m, eval_set=es, status=JobStatus.DONE)
    Sample.objects.bulk_create(
        Sample(job=job, prompt=p, index=0, text=f"{{name}} {{p.uid}}\n\n" + body, finish_reason="eos", selected=True)
        for p in prompts
    )
raters = [user_create(username=f"{name}-{{i:04d}}", role="rater") for i in range(n_raters)]
c = campaign_create(name="{name}", eval_set=es, systems=["bench-a", "bench-b"], ratings_per_comparison=2, overlap=0.1, raters=raters)
c.status = Campaign.Status.OPEN
c.save()
# Fresh tables have no planner statistics before autovacuum's first pass; a running site has them.
from bench.pg_stats import analyze_filled
analyze_filled()
sessions = {{}}
for u in raters:
    s = SessionStore()
    s[SESSION_KEY] = str(u.pk)
    s[BACKEND_SESSION_KEY] = "core.backends.RoleBackend"
    s[HASH_SESSION_KEY] = u.get_session_auth_hash()
    s.create()
    sessions[u.username] = s.session_key
print("BENCH_JSON " + json.dumps({{"campaign": c.pk, "sessions": sessions, "needed": sum(c.comparisons.values_list("needed", flat=True))}}))
"""

VERIFY = r"""
import json
from django.db import connection
from django.db.models import Count, F
from annotate.models import Comparison, Rating
c = Comparison.objects.filter(campaign__name="{name}")
from annotate.rater_tokens import item_token, rater_token
# Each rater is shown their own token for an item (annotate.rater_tokens): compare what they were shown.
pairs = [(user, rater_token(token=item_token(comparison_id=pk, campaign_id=cid), rater_id=rid)) for user, rid, pk, cid in Rating.objects.filter(campaign__name="{name}").values_list("rater__username", "rater_id", "comparison_id", "campaign_id")]
dupes = Rating.objects.filter(campaign__name="{name}").values("rater", "comparison").annotate(n=Count("id")).filter(n__gt=1).count()
over = c.annotate(n=Count("ratings")).filter(n__gt=F("needed")).count()
print("BENCH_JSON " + json.dumps({{"pairs": pairs, "duplicates": dupes, "over_rated": over, "vendor": connection.vendor}}))
"""
