import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from core import health
from core.roles import researcher_required

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    db_ok, db_detail = health.database_ok()
    broker_ok, broker_detail = health.broker_ok()
    # Anyone may call this, so it says only which part is down; the reason (hosts, paths,
    # driver messages) goes to the log, where the operator looks.
    for part, ok, detail in (("database", db_ok, db_detail), ("broker", broker_ok, broker_detail)):
        if not ok:
            logger.error("healthz: the %s is down: %s", part, detail)
    body = {
        "status": "ok" if db_ok and broker_ok else "unavailable",
        "database": {"ok": db_ok},
        "broker": {"ok": broker_ok},
    }
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)


@researcher_required
@require_GET
@cache_control(max_age=86400, private=True)
def plotly_js(request: HttpRequest) -> HttpResponse:
    """plotly.js from the installed plotly package: figures work offline and match the Python side."""
    from plotly.offline import get_plotlyjs

    return HttpResponse(get_plotlyjs(), content_type="text/javascript; charset=utf-8")
