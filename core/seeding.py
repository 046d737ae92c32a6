"""Reproducible randomness that only this installation can reproduce.

A campaign built with `--seed S` must come out the same when rebuilt here, yet a rater who knows or
guesses S (0, 1, 42 ...) must not be able to replay `random.Random(S)` and learn which system is on
which side. So the generator is seeded with HMAC-SHA256(SECRET_KEY, purpose + seed), never with the
seed alone.
"""

from __future__ import annotations

import hashlib
import hmac
import random

from django.conf import settings


def secret_rng(*, seed: int | None, purpose: str) -> random.Random:
    """A generator for `purpose` (e.g. "campaign-sides"); the OS's randomness when `seed` is None."""
    if seed is None:
        return random.SystemRandom()
    message = f"{purpose}:{seed}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))
