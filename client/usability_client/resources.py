"""The API's resources as Python objects: evaluation sets, models, jobs, campaigns, webhooks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usability_client import waiting
from usability_client.errors import JobFailed
from usability_client.transport import Transport

JOB_PATHS = {"generation": "/generation-jobs", "finetune": "/finetune-jobs", "judge": "/judge-runs"}


@dataclass
class Job:
    """A generation, finetune or judge job; `data` is its last known state (status, done, total, error)."""

    transport: Transport
    data: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    def _path(self) -> str:
        return f"{JOB_PATHS[self.data['kind']]}/{self.id}"

    def refresh(self) -> Job:
        self.data = self.transport.get(self._path())
        return self

    def cancel(self) -> Job:
        self.data = self.transport.post(self._path() + "/cancel")
        return self

    def retry(self) -> Job:
        self.data = self.transport.post(self._path() + "/retry")
        return self

    def wait(self, *, progress: bool = True, interval: float = 2.0, timeout: float | None = None) -> Job:
        """Poll until the job ends; JobFailed when it failed or was cancelled."""
        self.data = waiting.wait_until(
            lambda: self.refresh().data,
            lambda state: state["status"] in ("done", "failed", "cancelled"),
            label=f"{self.data['kind']} job {self.id}", progress=progress, interval=interval, timeout=timeout,
        )  # fmt: skip
        if self.status != "done":
            raise JobFailed(self.data)
        return self

    def samples(self, *, with_tokens: bool = False) -> Iterator[dict[str, Any]]:
        """A generation job's samples, one dict per line of the streamed export."""
        import json

        params = {"with_tokens": "true"} if with_tokens else {}
        for line in self.transport.stream_lines(self._path() + "/samples", **params):
            yield json.loads(line)


@dataclass
class Campaign:
    transport: Transport
    data: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.data["id"])

    def _path(self, rest: str = "") -> str:
        return f"/campaigns/{self.id}{rest}"

    def open(self) -> Campaign:
        self.data = self.transport.post(self._path("/open"))
        return self

    def close(self) -> Campaign:
        self.data = self.transport.post(self._path("/close"))
        return self

    def progress(self) -> dict[str, Any]:
        return dict(self.transport.get(self._path("/progress")))

    def invite(self, *, label: str = "", max_uses: int | None = None, expires: str | None = None) -> str:
        """A new invite link raters open to join."""
        body = {"label": label, "max_uses": max_uses, "expires": expires}
        return str(self.transport.post(self._path("/invites"), body)["url"])

    def wait_complete(
        self, *, progress: bool = True, interval: float = 10.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Poll until every comparison has its ratings (or the campaign closed); returns the progress."""

        def poll() -> dict[str, Any]:
            state = self.progress()
            return {
                **state,
                "total": state["needed"],
                "status": "complete" if state["complete"] else "rating",
            }

        return waiting.wait_until(
            poll, lambda s: bool(s["complete"]), label=f"campaign {self.data['name']}",
            progress=progress, interval=interval, timeout=timeout,
        )  # fmt: skip

    def report(self, *, baseline: str | None = None, candidate: str | None = None) -> dict[str, Any]:
        """The report JSON (the contract's keys), the same function as the report page."""
        return dict(self.transport.get(self._path("/report"), baseline=baseline, candidate=candidate))

    def ratings(self) -> Iterator[dict[str, Any]]:
        import json

        for line in self.transport.stream_lines(self._path("/ratings")):
            yield json.loads(line)

    def hf_dataset(self, folder: str | Path) -> Path:
        """Download the Hugging Face dataset folder (Parquet + README.md card) into `folder`."""
        import io
        import zipfile

        content = self.transport.get(self._path("/hf-dataset"))
        target = Path(folder)
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            archive.extractall(target)
        return target

    def judge(self, *, model: str) -> Job:
        return Job(self.transport, self.transport.post(self._path("/judge-runs"), {"model": model}))

    def import_judgments(self, path: str | Path, *, format: str = "auto", name: str | None = None) -> Job:
        with open(path, "rb") as handle:
            data = {"format": format, **({"name": name} if name else {})}
            run = self.transport.post(
                self._path("/judgments"), files={"file": (Path(path).name, handle)}, data=data
            )
        return Job(self.transport, run)


class Resources:
    def __init__(self, transport: Transport) -> None:
        self.t = transport

    # ---- evaluation sets
    def upload_eval_set(
        self, path: str | Path, *, name: str | None = None, format: str = "auto", **fields: str
    ) -> dict[str, Any]:
        """Import a file in any importer format; a bad record raises BadRequest naming its line."""
        with open(path, "rb") as handle:
            data = {"format": format, **({"name": name} if name else {}), **fields}
            return dict(self.t.post("/eval-sets", files={"file": (Path(path).name, handle)}, data=data))

    def eval_sets(self) -> list[dict[str, Any]]:
        return list(self.t.pages("/eval-sets"))

    def export_eval_set(self, set_id: int) -> str:
        return bytes(self.t.get(f"/eval-sets/{set_id}/export")).decode()

    # ---- models
    def register_model(self, name: str, *, path: str | None = None, **options: Any) -> dict[str, Any]:
        """In-process (`path`: a Hugging Face id or a directory on the workers) or served
        (`backend="openai", base_url=..., served_model=...`)."""
        body = {"name": name, **({"path": path} if path else {}), **options}
        return dict(self.t.post("/models", body))

    def models(self) -> list[dict[str, Any]]:
        return list(self.t.pages("/models"))

    # ---- jobs
    def generate(self, *, model: str, eval_set: str, **params: Any) -> Job:
        """Queue generation (samples, temperature, max_new_tokens, seed, limit, ...)."""
        return Job(self.t, self.t.post("/generation-jobs", {"model": model, "eval_set": eval_set, **params}))

    def finetune(self, *, base: str, mixture_path: str, name: str, **hyperparameters: Any) -> Job:
        body = {"base": base, "mixture_path": mixture_path, "name": name, "hyperparameters": hyperparameters}
        return Job(self.t, self.t.post("/finetune-jobs", body))

    def job(self, kind: str, job_id: int) -> Job:
        return Job(self.t, {"kind": kind, "id": job_id}).refresh()

    # ---- campaigns
    def create_campaign(
        self, *, name: str, eval_set: str, systems: Sequence[str], **options: Any
    ) -> Campaign:
        """Every option of create_campaign: ratings_per_item, overlap, raters, baseline, gold, seed,
        answered_only, stop_when_settled, precision, open, ..."""
        body = {"name": name, "eval_set": eval_set, "systems": list(systems), **options}
        return Campaign(self.t, self.t.post("/campaigns", body))

    def campaign(self, campaign_id: int) -> Campaign:
        return Campaign(self.t, self.t.get(f"/campaigns/{campaign_id}"))

    def campaigns(self) -> list[Campaign]:
        return [Campaign(self.t, data) for data in self.t.pages("/campaigns")]

    # ---- webhooks
    def add_webhook(self, url: str, events: Sequence[str]) -> dict[str, Any]:
        """Register a webhook; the answer holds its `secret` (shown once) for checking X-Signature-256."""
        return dict(self.t.post("/webhooks", {"url": url, "events": list(events)}))

    def webhook_deliveries(self, hook_id: int) -> list[dict[str, Any]]:
        return list(self.t.pages(f"/webhooks/{hook_id}/deliveries"))
