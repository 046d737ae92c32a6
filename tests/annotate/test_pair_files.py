"""Gold and practice files go through the importers' one reader: each fault named, nothing half-added."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotate.recruiting_models import PracticeItem

pytestmark = pytest.mark.django_db

# Gold pairs need prompts the campaign does not rate: it rates the coding prompts (odd ids).
GOOD_GOLD = {"prompt_id": "p000", "text_a": "good", "text_b": "bad", "answer": "a"}
GOOD_PRACTICE = {
    "prompt": "2 + 2?",
    "text_a": "4",
    "text_b": "5",
    "answer": "a",
    "explanation": "4 is right.",
}


def post_gold(client, campaign, data: bytes, name: str = "gold.jsonl"):
    url = reverse("annotate:campaign_gold", kwargs={"pk": campaign.pk})
    return client.post(url, {"file": SimpleUploadedFile(name, data)}, follow=True)


def post_practice(client, campaign, text: str):
    url = reverse("recruiting:manage", kwargs={"pk": campaign.pk})
    return client.post(url, {"action": "practice", "text": text}, follow=True)


def uploaded_gold(campaign) -> int:
    return campaign.comparisons.filter(gold_uploaded=True).count()


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        (
            '{"prompt_id": "p002", "text_a": "x", ',
            "gold.jsonl, line 2: not valid JSON (Expecting property name",
        ),
        (
            '{"prompt_id": "p002", "text_a": "x',
            "line 2: not valid JSON (Unterminated string starting at column 33)",
        ),
        (
            '{"prompt_id": "p002", "text_a": NaN, "text_b": "y", "answer": "a"}',
            "gold.jsonl, line 2: not valid JSON",
        ),
        (
            '{"prompt_id": "p002", "answer": "a", "answer": "b", "text_a": "x", "text_b": "y"}',
            "duplicate key",
        ),
        (
            '{"prompt_id": "p002", "text_a": 3, "text_b": "y", "answer": "a"}',
            "line 2: missing or not text: text_a",
        ),
        ('{"text_a": "x", "text_b": "y", "answer": "a"}', "line 2: missing or not text: prompt_id"),
        (
            '{"prompt_id": "p002", "text_a": "x", "text_b": "y", "answer": "left"}',
            "line 2: answer must be one of",
        ),
        (
            '{"prompt_id": "nope", "text_a": "x", "text_b": "y", "answer": "a"}',
            "line 2: prompt 'nope' is not in",
        ),
        ('["not", "an", "object"]', "line 2: expected a JSON object"),
    ],
)
def test_a_bad_gold_line_is_named_and_nothing_of_the_file_is_added(
    researcher_client, campaign_factory, second_line, message
):
    campaign = campaign_factory(name="gold-bad", categories=["coding"])
    data = (json.dumps(GOOD_GOLD) + "\n" + second_line + "\n").encode()
    page = post_gold(researcher_client, campaign, data).content.decode()
    assert "Gold file not added" in page and message in page.replace("&#x27;", "'")
    assert uploaded_gold(campaign) == 0


def test_a_gold_file_with_a_byte_order_mark_and_a_line_separator_inside_an_answer_is_added_whole(
    researcher_client, campaign_factory
):
    campaign = campaign_factory(name="gold-good", categories=["coding"])
    answer = "First paragraph.\u2028Second, after a line separator.\u0085Third."
    lines = [json.dumps(GOOD_GOLD), json.dumps({**GOOD_GOLD, "prompt_id": "p002", "text_a": answer})]
    data = b"\xef\xbb\xbf" + "\n".join(lines).encode()  # ensure_ascii=False is what writes U+2028 raw
    data = data.replace(json.dumps(answer).encode(), json.dumps(answer, ensure_ascii=False).encode())
    assert "\u2028".encode() in data
    page = post_gold(researcher_client, campaign, data).content.decode()
    assert "Added 2 gold pairs." in page
    texts = {c.texts.text_a for c in campaign.comparisons.filter(gold_uploaded=True).select_related("texts")}
    assert texts == {"good", answer}


def test_a_gold_file_over_the_upload_limit_is_refused_before_it_is_read(
    researcher_client, campaign_factory, settings
):
    settings.MAX_UPLOAD_BYTES = 1024
    campaign = campaign_factory(name="gold-big")
    data = "\n".join([json.dumps({**GOOD_GOLD, "text_a": "x" * 200})] * 6).encode()
    page = post_gold(researcher_client, campaign, data).content.decode()
    assert "the limit is 1,024 bytes (MAX_UPLOAD_BYTES)" in page
    assert uploaded_gold(campaign) == 0


def test_a_bad_practice_line_is_named_and_nothing_of_the_paste_is_added(researcher_client, campaign_factory):
    campaign = campaign_factory(name="practice-bad")
    text = "\r\n".join([json.dumps(GOOD_PRACTICE), json.dumps({**GOOD_PRACTICE, "explanation": 4})])
    page = post_practice(researcher_client, campaign, text).content.decode()
    assert "Practice items not added" in page and "line 2: explanation must be text" in page
    text = json.dumps(GOOD_PRACTICE) + "\n{broken"
    page = post_practice(researcher_client, campaign, text).content.decode()
    assert "practice items, line 2: not valid JSON" in page
    assert PracticeItem.objects.filter(campaign=campaign).count() == 0


def test_practice_items_pasted_from_a_browser_are_added_in_order(researcher_client, campaign_factory):
    campaign = campaign_factory(name="practice-good")
    second = {**GOOD_PRACTICE, "prompt": "Capital of France?", "text_a": "Paris", "text_b": "Lyon"}
    text = "\r\n".join([json.dumps(GOOD_PRACTICE), "", json.dumps(second)])  # a textarea sends CRLF
    page = post_practice(researcher_client, campaign, text).content.decode()
    assert "Added 2 practice items." in page
    stored = list(PracticeItem.objects.filter(campaign=campaign).order_by("position"))
    assert [item.prompt_text for item in stored] == ["2 + 2?", "Capital of France?"]
