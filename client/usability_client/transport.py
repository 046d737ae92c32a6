"""One httpx client, the token, JSON in and out, and errors raised as their types."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from usability_client.errors import BY_STATUS, ApiError


class Transport:
    def __init__(
        self, base_url: str, token: str, *, timeout: float = 60.0, client: httpx.Client | None = None
    ):
        self.http = client or httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            follow_redirects=False,
        )

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:500] or response.reason_phrase}
        cls = BY_STATUS.get(response.status_code, ApiError)
        raise cls(response.status_code, str(body.get("detail", "")), body.get("field"))

    def request(self, method: str, path: str, *, idempotent: bool = False, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if idempotent and method == "POST":
            # One key for every retry of this call: the server does the write once.
            headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
        for attempt in range(3 if idempotent else 1):
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
                break
            except httpx.TransportError:
                if attempt == 2 or not idempotent:
                    raise
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, idempotent=True, **kwargs)

    def pages(self, path: str, page_size: int = 100, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (limit/offset)."""
        offset = 0
        while True:
            page = self.get(path, limit=page_size, offset=offset, **params)
            yield from page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["count"]:
                return

    def stream_lines(self, path: str, **params: Any) -> Iterator[str]:
        with self.http.stream("GET", path, params=params) as response:
            if response.status_code >= 400:
                response.read()
                self._raise_for(response)
            yield from (line for line in response.iter_lines() if line)
