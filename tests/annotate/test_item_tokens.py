"""Issue 31: an item's token is enciphered from its ids, so no token column or unique index is stored."""

from __future__ import annotations

import base64
import os

import pytest
from django.test import override_settings

from annotate.assignment import item_next, item_skip, rating_submit
from annotate.models import Rating
from annotate.rater_tokens import item_id, item_ids, item_token
from annotate.rating_store import RatingError

pytestmark = pytest.mark.django_db


def test_an_item_token_deciphers_to_its_comparison_and_campaign():
    token = item_token(comparison_id=123_456_789, campaign_id=42)
    assert len(token) == 22 and item_ids(token) == (123_456_789, 42)
    assert item_id(token=token, campaign_id=42) == 123_456_789
    assert item_id(token=token, campaign_id=43) is None


def test_neighbouring_ids_give_tokens_with_nothing_in_common():
    tokens = [
        base64.urlsafe_b64decode(item_token(comparison_id=n, campaign_id=1) + "==") for n in range(1, 65)
    ]
    # Every byte position takes many values across 64 consecutive ids: no counter shows through.
    assert all(len({t[i] for t in tokens}) > 32 for i in range(16))
    assert tokens != sorted(tokens)


def test_a_token_depends_on_the_secret_key():
    before = item_token(comparison_id=7, campaign_id=1)
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only-0123456789"):
        assert item_token(comparison_id=7, campaign_id=1) != before
        assert item_ids(before) != (7, 1)


@pytest.mark.parametrize("token", ["", "nope", "a" * 22, "!" * 22, "a" * 40])
def test_what_no_item_token_can_be_names_no_item(token):
    assert item_id(token=token, campaign_id=1) is None


def test_random_tokens_name_no_item():
    forged = [base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode() for _ in range(1000)]
    assert all(item_id(token=t, campaign_id=1) is None for t in forged)


def test_an_item_of_another_campaign_cannot_be_rated_or_skipped_through_its_token(
    campaign_factory, make_rater
):
    rater = make_rater("tok-x")
    one = campaign_factory(name="one", n_prompts=2, raters=[rater])
    other = campaign_factory(name="other", n_prompts=2, raters=[rater])
    served = item_next(campaign=one, rater=rater)
    assert served is not None
    with pytest.raises(RatingError, match="unknown item"):
        rating_submit(campaign=other, rater=rater, token=served.token, side="left")
    item_skip(campaign=other, rater=rater, token=served.token)
    assert not Rating.objects.exists()
    rating, created = rating_submit(campaign=one, rater=rater, token=served.token, side="left")
    assert created and rating.comparison_id == served.pk


def test_an_unsaved_comparison_has_no_token_and_still_prints():
    from annotate.models import Comparison

    assert Comparison().token == "" and str(Comparison()) == "comparison "
