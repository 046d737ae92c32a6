from typing import Any

from django.http import HttpRequest

from core.roles import is_rater, is_researcher


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None:
        return {"is_researcher": False, "is_rater": False}
    return {"is_researcher": is_researcher(user), "is_rater": is_rater(user)}
