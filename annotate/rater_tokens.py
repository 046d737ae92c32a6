"""The names an item goes by: its token, derived from its ids, and each rater's own name for it.

An item's token (``Comparison.token``, ``item_token``) is its comparison and campaign ids enciphered
under a key of the server's: 16 bytes that look random, reveal neither the pk nor the build order, and
need no stored column or unique index (issue 31: at a million comparisons that index was a quarter of
the build). ``item_ids`` deciphers one back; a forged token deciphers to a campaign id that will not
match (a 2^-64 chance), so it names no item.

Every item a rater is served, regular or gold, is named by ``rater_token(token, rater_id)``, so two
raters never see the same token for the same item: colluding accounts cannot find the items they share
(a gold check is served to everyone, so before this it was the one token they all had) by comparing
tokens. The page sends the token back and ``comparison_token`` deciphers it.

The cipher is a four-round Feistel network over 16 bytes with HMAC-SHA256 (keyed by SECRET_KEY and the
purpose) as its round function: a keyed permutation (Luby-Rackoff), so tokens look random and
unrelated to each other, and it inverts without a table. A plain XOR with a rater key would not do: the
XOR of two raters' tokens for one item would be the same for every shared item.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from functools import lru_cache

from django.conf import settings

_ROUNDS = 4
_HALF = 8
_TOKEN_BYTES = 16
_IDS = struct.Struct(">QQ")


@lru_cache(maxsize=4096)
def _key(purpose: str, secret: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def _round(key: bytes, number: int, half: bytes) -> bytes:
    return hmac.new(key, bytes([number]) + half, hashlib.sha256).digest()[:_HALF]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(_HALF)


def _encipher(key: bytes, raw: bytes) -> bytes:
    left, right = raw[:_HALF], raw[_HALF:]
    for number in range(_ROUNDS):
        left, right = right, _xor(left, _round(key, number, right))
    return left + right


def _decipher(key: bytes, raw: bytes) -> bytes:
    left, right = raw[:_HALF], raw[_HALF:]
    for number in reversed(range(_ROUNDS)):
        left, right = _xor(right, _round(key, number, left)), left
    return left + right


def _decode(token: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _TOKEN_BYTES else None


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def item_token(*, comparison_id: int, campaign_id: int) -> str:
    """The comparison's token: its ids, enciphered (22 characters of URL-safe base64)."""
    return _encode(_encipher(_key("item-token", settings.SECRET_KEY), _IDS.pack(comparison_id, campaign_id)))


def item_ids(token: str) -> tuple[int, int] | None:
    """(comparison id, campaign id) behind an item token; None for what no item token can be."""
    raw = _decode(token)
    if raw is None:
        return None
    return _IDS.unpack(_decipher(_key("item-token", settings.SECRET_KEY), raw))  # type: ignore[return-value]


def item_id(*, token: str, campaign_id: int) -> int | None:
    """The id of the campaign's comparison named by `token`; None when it names none of its items."""
    ids = item_ids(token)
    return ids[0] if ids is not None and ids[1] == campaign_id else None


def rater_token(*, token: str, rater_id: int) -> str:
    """What this rater is shown for the comparison whose token is `token`."""
    raw = _decode(token)
    if raw is None:
        return token  # not an item token (none is made otherwise): shown as it is
    return _encode(_encipher(_key(f"rater-token:{rater_id}", settings.SECRET_KEY), raw))


def comparison_token(*, shown: str, rater_id: int) -> str:
    """The comparison token behind what this rater sent; garbage in gives a token no item has."""
    raw = _decode(shown)
    if raw is None:
        return shown
    return _encode(_decipher(_key(f"rater-token:{rater_id}", settings.SECRET_KEY), raw))
