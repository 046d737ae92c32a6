"""Python client of the usability evaluation platform's HTTP API.

from usability_client import Client
api = Client("https://eval.example.org", token="usk_...")
job = api.generate(model="base", eval_set="usability-190").wait()
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from usability_client.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    JobFailed,
    NotFound,
    Throttled,
    Unauthorized,
    WaitTimeout,
)
from usability_client.resources import Campaign, Job, Resources
from usability_client.transport import Transport


class Client(Resources):
    """`Client(base_url, token)`: the site's address (without /api/v1) and a researcher's API token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 60.0, http: httpx.Client | None = None):
        super().__init__(Transport(base_url, token, timeout=timeout, client=http))

    def close(self) -> None:
        self.t.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verify_signature(*, secret: str, body: bytes, header: str) -> bool:
    """Whether a webhook delivery's `X-Signature-256` header is the HMAC-SHA256 of `body` with `secret`."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


__all__ = [
    "ApiError", "BadRequest", "Campaign", "Client", "Forbidden", "Job", "JobFailed", "NotFound", "Throttled",
    "Unauthorized", "WaitTimeout", "verify_signature",
]  # fmt: skip
