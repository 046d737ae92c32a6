"""The token a rater sees for an item: the comparison's token enciphered with a key of their own.

Every item a rater is served, regular or gold, is named by ``rater_token(token, rater_id)``, so two
raters never see the same token for the same item: colluding accounts cannot find the items they share
(a gold check is served to everyone, so before this it was the one token they all had) by comparing
tokens. The page sends the token back and ``comparison_token`` deciphers it.

The cipher is a four-round Feistel network over the token's 16 bytes with HMAC-SHA256 (keyed by
SECRET_KEY and the rater) as its round function: a keyed permutation (Luby-Rackoff), so a rater's tokens
look random and unrelated to another rater's, and it inverts without a table. A plain XOR with a rater
key would not do: the XOR of two raters' tokens for one item would be the same for every shared item.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from django.conf import settings

_ROUNDS = 4
_HALF = 8
# Comparison tokens are secrets.token_urlsafe(16): 16 bytes, 22 characters of URL-safe base64.
_TOKEN_BYTES = 16


def _key(rater_id: int) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), f"rater-token:{rater_id}".encode(), hashlib.sha256).digest()


def _round(key: bytes, number: int, half: bytes) -> bytes:
    return hmac.new(key, bytes([number]) + half, hashlib.sha256).digest()[:_HALF]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _decode(token: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _TOKEN_BYTES else None


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rater_token(*, token: str, rater_id: int) -> str:
    """What this rater is shown for the comparison whose token is `token`."""
    raw = _decode(token)
    if raw is None:
        return token  # not a generated token (none is stored otherwise): shown as it is
    key = _key(rater_id)
    left, right = raw[:_HALF], raw[_HALF:]
    for number in range(_ROUNDS):
        left, right = right, _xor(left, _round(key, number, right))
    return _encode(left + right)


def comparison_token(*, shown: str, rater_id: int) -> str:
    """The comparison token behind what this rater sent; garbage in gives a token no item has."""
    raw = _decode(shown)
    if raw is None:
        return shown
    key = _key(rater_id)
    left, right = raw[:_HALF], raw[_HALF:]
    for number in reversed(range(_ROUNDS)):
        left, right = _xor(right, _round(key, number, left)), left
    return _encode(left + right)
