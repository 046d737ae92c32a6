"""Typed errors: every refusal of the API as an exception that says what and, when known, which field."""

from __future__ import annotations


class ApiError(Exception):
    """The API refused a request: `status`, its message `detail`, and the `field` it names (or None)."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}" + (f" (field: {field})" if field else ""))
        self.status, self.detail, self.field = status, detail, field


class BadRequest(ApiError):
    """400 or 422: the input was refused; nothing was written."""


class Unauthorized(ApiError):
    """401: no token, or a wrong, revoked or expired one."""


class Forbidden(ApiError):
    """403: the account is not a researcher's."""


class NotFound(ApiError):
    """404: no such object."""


class Throttled(ApiError):
    """429: too many wrong tokens from this address; wait for the cool-off."""


class JobFailed(Exception):
    """A job ended failed or cancelled; `job` holds its last state (its `error` says why)."""

    def __init__(self, job: dict[str, object]) -> None:
        super().__init__(
            f"{job.get('kind')} job {job.get('id')} {job.get('status')}: {job.get('error') or ''}"
        )
        self.job = job


class WaitTimeout(Exception):
    """A wait ran past its timeout; the object is still going on the server."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    422: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: Throttled,
}
