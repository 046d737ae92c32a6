from core.errors import RequestError


class JudgingError(RequestError):
    """A judge run or an import that cannot be made as asked; the message says why."""
