"""Campaign results: ratings export (streamed), the report JSON, the hf dataset, verdict imports."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from api.routers.campaigns import campaign_get_or_404
from api.routers.jobs import job_out
from api.schemas.jobs import JobOut
from judging.imports import judgments_import
from reports.campaign_report import campaign_ratings_chunks, campaign_report_source
from reports.hf_dataset import hf_dataset_write
from reports.sources import ReportSource, report_of

router = Router(tags=["campaigns"])


def _source(
    campaign_id: int, exclude_raters: list[str], exclude_gold: bool, *, texts: bool
) -> tuple[Any, ReportSource]:
    """``texts=False``: the report's columns, no texts (enough for the report; not for a dataset of ratings)."""
    campaign = campaign_get_or_404(campaign_id)
    return campaign, campaign_report_source(
        campaign=campaign, exclude_raters=exclude_raters, exclude_gold=exclude_gold, texts=texts
    )


@router.get("/{int:campaign_id}/ratings", summary="Every rating (the ratings file), streamed")
def ratings(
    request: HttpRequest,
    campaign_id: int,
    format: Literal["jsonl", "csv"] = "jsonl",
    exclude_gold: bool = False,
) -> StreamingHttpResponse:
    """The contract's ratings file, one rating a line (jsonl) or a CSV with the sides unblinded: the report
    page's download, read and sent a chunk at a time."""
    campaign = campaign_get_or_404(campaign_id)
    chunks = campaign_ratings_chunks(campaign=campaign, fmt=format, exclude_gold=exclude_gold)
    content_type = "application/x-ndjson" if format == "jsonl" else "text/csv; charset=utf-8"
    return StreamingHttpResponse(chunks, content_type=content_type)


@router.get("/{int:campaign_id}/report", summary="The report JSON (the same function as the report page)")
def report(
    request: HttpRequest,
    campaign_id: int,
    baseline: str | None = None,
    candidate: str | None = None,
    exclude_gold: bool = False,
) -> HttpResponse:
    _, source = _source(campaign_id, [], exclude_gold, texts=False)
    body = report_of(source=source, baseline=baseline, candidate=candidate)
    return HttpResponse(
        json.dumps(body, allow_nan=False, ensure_ascii=False), content_type="application/json"
    )


@router.get("/{int:campaign_id}/hf-dataset", summary="The ratings as a Hugging Face dataset folder (zip)")
def hf_dataset(request: HttpRequest, campaign_id: int, exclude_gold: bool = False) -> HttpResponse:
    """What `report --format hf --out DIR` writes (Parquet and a README.md card), zipped."""
    campaign, source = _source(campaign_id, [], exclude_gold, texts=True)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        hf_dataset_write(source=source, out=Path(folder))
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-hf.zip"'
    return response


@router.post("/{int:campaign_id}/judgments", response={201: JobOut}, summary="Import a judge's verdicts")
def judgments(
    request: HttpRequest,
    campaign_id: int,
    file: File[UploadedFile],
    format: Form[Literal["auto", "alpacaeval", "jsonl"]] = "auto",
    name: Form[str | None] = None,
) -> Status:
    """What `import_judgments` reads; a bad line imports nothing and is named."""
    campaign = campaign_get_or_404(campaign_id)
    run = judgments_import(
        campaign=campaign, stream=file.file, filename=file.name or "upload", fmt=format, name=name or None
    )
    return Status(201, job_out(run))
