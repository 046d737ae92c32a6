"""Looking up evaluation-set versions by the names people type."""

from __future__ import annotations

from eval_sets.models import EvalSet


def eval_set_resolve(*, spec: str) -> EvalSet:
    """`NAME` is the newest version of that set; `NAME@vN` (or `NAME@N`) is version N.

    Raises ValueError with a sentence fit for a command-line error.
    """
    name, _, version_text = spec.partition("@")
    name = name.strip()
    queryset = EvalSet.objects.filter(name=name)
    if version_text:
        try:
            version = int(version_text.strip().lstrip("v"))
        except ValueError:
            raise ValueError(f"bad evaluation-set version in {spec!r}: use NAME@vN") from None
        found = queryset.filter(version=version).first()
        if found is None:
            raise ValueError(f"evaluation set {name!r} has no version {version}")
        return found
    found = queryset.order_by("-version").first()
    if found is None:
        known = ", ".join(sorted(set(EvalSet.objects.values_list("name", flat=True)))) or "none yet"
        raise ValueError(f"no evaluation set named {name!r} (known: {known})")
    return found
