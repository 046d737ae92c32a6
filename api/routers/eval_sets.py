"""/eval-sets: upload (every importer format), list, get, export."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from api.schemas.sets_models import EvalSetImported, EvalSetOut
from eval_sets.importers import FORMATS
from eval_sets.models import EvalSet
from eval_sets.services import eval_set_check_size, eval_set_export, eval_set_import

router = Router(tags=["evaluation sets"])


def eval_set_out(eval_set: EvalSet, prompts: int | None = None) -> dict[str, object]:
    return {
        "id": eval_set.pk,
        "name": eval_set.name,
        "version": eval_set.version,
        "description": eval_set.description,
        "source_format": eval_set.source_format,
        "prompts": eval_set.prompts.count() if prompts is None else prompts,
        "created": eval_set.created,
    }


@router.post("", response={201: EvalSetImported}, summary="Upload an evaluation set")
def upload(
    request: HttpRequest,
    file: File[UploadedFile],
    name: Form[str | None] = None,
    format: Form[str] = "auto",
    description: Form[str] = "",
    id_field: Form[str | None] = None,
    prompt_field: Form[str | None] = None,
    category_field: Form[str | None] = None,
) -> Status:
    """Any format `import_eval_set` reads (`format`: auto or one of the importers). A bad record
    imports nothing and the error names its line. An identical file returns the stored version."""
    filename = file.name or "upload.jsonl"
    eval_set_check_size(size=file.size or 0, filename=filename)
    result = eval_set_import(
        data=file.read(), filename=filename, name=name or None, description=description, format=format,
        id_field=id_field or None, prompt_field=prompt_field or None, category_field=category_field or None,
    )  # fmt: skip
    body = eval_set_out(result.eval_set)
    return Status(201, {**body, "created_now": result.created, "notes": result.notes})


upload.__doc__ = (upload.__doc__ or "") + f" Formats: auto, {', '.join(FORMATS)}."


@router.get("", response=list[EvalSetOut], summary="List evaluation sets")
@paginate
def list_sets(request: HttpRequest) -> list[dict[str, object]]:
    rows = EvalSet.objects.annotate(n=Count("prompts")).order_by("name", "-version")
    return [eval_set_out(s, s.n) for s in rows]  # type: ignore[attr-defined]


@router.get("/{int:set_id}", response=EvalSetOut, summary="Get an evaluation set")
def get_set(request: HttpRequest, set_id: int) -> dict[str, object]:
    return eval_set_out(get_object_or_404(EvalSet, pk=set_id))


@router.get("/{int:set_id}/export", summary="Export an evaluation set (the contract's JSONL)")
def export_set(request: HttpRequest, set_id: int) -> HttpResponse:
    eval_set = get_object_or_404(EvalSet, pk=set_id)
    response = HttpResponse(eval_set_export(eval_set=eval_set), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{eval_set.name}-v{eval_set.version}.jsonl"'
    return response
