"""/models: register (in-process or served) and list."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from api.schemas.sets_models import InProcessModelIn, ModelOut, ServedModelIn
from generation.models import ModelSpec
from generation.services import model_spec_register, model_spec_register_served

router = Router(tags=["models"])


@router.post("", response={201: ModelOut, 200: ModelOut}, summary="Register a model")
def register(request: HttpRequest, payload: InProcessModelIn | ServedModelIn) -> Status:
    """`backend` inprocess (a Hugging Face id or a directory on the workers) or openai (a served,
    OpenAI-compatible model such as vLLM; the operator's SERVED_ALLOWED_HOSTS apply). Registering the
    same model again under its name answers 200 with it (a retried request changes nothing)."""
    existing = ModelSpec.objects.filter(name=payload.name.strip()).first()
    if existing is not None and _same(existing, payload):
        return Status(200, existing)
    if isinstance(payload, ServedModelIn):
        spec = model_spec_register_served(
            name=payload.name, base_url=payload.base_url, served_model=payload.served_model,
            chat=payload.chat, api_key_env=payload.api_key_env, description=payload.description,
        )  # fmt: skip
    else:
        spec = model_spec_register(
            name=payload.name, path=payload.path, kind=payload.kind, chat_template=payload.chat_template,
            dtype=payload.dtype, description=payload.description,
        )  # fmt: skip
    return Status(201, spec)


def _same(spec: ModelSpec, payload: InProcessModelIn | ServedModelIn) -> bool:
    if isinstance(payload, ServedModelIn):
        return spec.is_served and spec.served_model == payload.served_model
    return not spec.is_served and spec.path == payload.path


@router.get("", response=list[ModelOut], summary="List models")
@paginate
def list_models(request: HttpRequest) -> object:
    return ModelSpec.objects.order_by("name")
