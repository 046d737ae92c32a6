"""The NinjaAPI instance: every router under /api/v1/, researchers only, errors as JSON."""

from __future__ import annotations

from ninja import NinjaAPI

from api import errors
from api.auth import AUTH
from api.routers import campaigns, eval_sets, jobs, models, results, webhooks

api = NinjaAPI(
    title="Usability evaluation API",
    version="1",
    description=(
        "Blind side-by-side human evaluation from code. Authenticate with `Authorization: Bearer <token>` "
        "(a researcher's token, made on the API tokens page or with `create_api_token`). Raters get 403. "
        "List endpoints take `limit` and `offset`. A POST may carry `Idempotency-Key`: a retry with the "
        "same key gets the first answer and changes nothing. Errors are `{detail, field}`."
    ),
    auth=AUTH,
    openapi_url="/openapi.json",
    docs_url="/docs",
    urls_namespace="api",
)
api.add_router("/eval-sets", eval_sets.router)
api.add_router("/models", models.router)
api.add_router("/", jobs.router)
api.add_router("/campaigns", campaigns.router)
api.add_router("/campaigns", results.router)
api.add_router("/webhooks", webhooks.router)
errors.install(api)
