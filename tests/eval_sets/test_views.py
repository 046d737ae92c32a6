"""The researcher pages: list, a version's page, the JSONL download and the upload form."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from eval_sets.models import EvalSet, Prompt
from eval_sets.services import eval_set_import
from tests.eval_sets import samples
from tests.eval_sets.samples import jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def usability_set() -> EvalSet:
    return eval_set_import(
        data=samples.USABILITY, filename="usab.jsonl", description="Four prompts."
    ).eval_set


def test_the_list_shows_every_set_with_its_versions(researcher_client, usability_set):
    eval_set_import(data=samples.USABILITY.replace(b"haiku", b"limerick"), filename="usab.jsonl")
    response = researcher_client.get(reverse("eval_sets:list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "usab" in page
    assert reverse("eval_sets:detail", args=[usability_set.pk]) in page
    assert ">v1<" in page and ">v2<" in page
    assert "Four prompts." in page


def test_the_version_page_counts_prompts_per_category_and_setting(researcher_client, usability_set):
    response = researcher_client.get(reverse("eval_sets:detail", args=[usability_set.pk]))
    assert response.status_code == 200
    rows = {row["category"]: row["counts"] for row in response.context["table"]}
    assert [value for value, _ in response.context["settings_used"]] == [
        "zero_shot",
        "zero_shot_cot",
        "few_shot",
    ]
    assert rows == {"antonyms": [0, 0, 1], "creativity": [1, 0, 0], "planning": [1, 1, 0]}
    assert response.context["column_totals"] == [2, 1, 1]
    assert "Plan a two-day hike. Let&#x27;s think step by step." in response.content.decode()


def test_the_version_page_paginates_and_filters_the_prompts(researcher_client):
    data = jsonl(
        *(
            {"id": f"p{i}", "prompt": f"Prompt number {i}", "category": "c" if i % 2 else "d"}
            for i in range(60)
        )
    )
    eval_set = eval_set_import(data=data, filename="many.jsonl").eval_set
    url = reverse("eval_sets:detail", args=[eval_set.pk])
    first = researcher_client.get(url)
    assert first.context["page"].paginator.num_pages == 3
    assert "Prompt number 0<" in first.content.decode()
    last = researcher_client.get(url, {"page": 3})
    assert "Prompt number 59<" in last.content.decode()
    only_c = researcher_client.get(url, {"category": "c"})
    assert only_c.context["page"].paginator.count == 30
    assert "Prompt number 0<" not in only_c.content.decode()


def test_prompt_text_is_escaped_on_the_page(researcher_client):
    data = jsonl({"id": "x", "prompt": "<script>alert(1)</script>"})
    eval_set = eval_set_import(data=data, filename="x.jsonl").eval_set
    page = researcher_client.get(reverse("eval_sets:detail", args=[eval_set.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_download_is_the_contract_export(researcher_client, usability_set):
    response = researcher_client.get(reverse("eval_sets:export", args=[usability_set.pk]))
    assert response.status_code == 200
    assert "usab-v1.jsonl" in response["Content-Disposition"]
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert [line["id"] for line in lines] == ["cr-1", "pl-1", "pl-1-cot", "fs-1"]


def test_an_upload_imports_the_file_and_shows_the_version(researcher_client):
    upload = SimpleUploadedFile("bench.jsonl", samples.VICUNA)
    response = researcher_client.post(
        reverse("eval_sets:upload"), {"file": upload, "format": "auto"}, follow=True
    )
    eval_set = EvalSet.objects.get(name="bench")
    assert response.redirect_chain[-1][0] == reverse("eval_sets:detail", args=[eval_set.pk])
    assert "Imported bench v1: 2 prompts." in response.content.decode()
    assert eval_set.source_format == "vicuna"


def test_an_upload_with_a_mapping_and_a_name(researcher_client):
    upload = SimpleUploadedFile("c.csv", samples.CSV)
    researcher_client.post(
        reverse("eval_sets:upload"),
        {
            "file": upload,
            "format": "csv",
            "name": "my csv",
            "id_field": "key",
            "prompt_field": "text",
            "category_field": "kind",
        },
    )
    assert EvalSet.objects.get(name="my csv").prompts.count() == 2


def test_a_bad_upload_shows_every_problem_next_to_the_file_and_stores_nothing(researcher_client):
    data = jsonl({"id": "a", "prompt": ""}, {"id": "b", "prompt": "<b>ok</b>"}, {"id": "b", "prompt": "dup"})
    upload = SimpleUploadedFile("bad.jsonl", data)
    response = researcher_client.post(reverse("eval_sets:upload"), {"file": upload, "format": "auto"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "bad.jsonl, line 1, field &#x27;prompt&#x27;: is empty" in page
    assert "bad.jsonl, line 3, field &#x27;id&#x27;: duplicate id &#x27;b&#x27; (first at line 2)" in page
    assert page.index('id="file-errors"') < page.index('for="id_name"')
    assert Prompt.objects.count() == 0


def test_an_oversized_upload_is_refused(researcher_client, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    upload = SimpleUploadedFile("big.jsonl", jsonl(*({"id": str(i), "prompt": "p" * 50} for i in range(40))))
    response = researcher_client.post(reverse("eval_sets:upload"), {"file": upload, "format": "auto"})
    assert "the limit is 1,024 bytes" in response.content.decode()
    assert EvalSet.objects.count() == 0


def test_uploading_identical_content_points_to_the_stored_version(researcher_client, usability_set):
    upload = SimpleUploadedFile("usab.jsonl", samples.USABILITY)
    response = researcher_client.post(
        reverse("eval_sets:upload"), {"file": upload, "format": "auto"}, follow=True
    )
    assert "Identical content is already stored as usab v1." in response.content.decode()
    assert EvalSet.objects.count() == 1


@pytest.mark.parametrize("name", ["eval_sets:list", "eval_sets:upload"])
def test_raters_may_not_open_researcher_pages(rater_client, name):
    assert rater_client.get(reverse(name)).status_code == 403


def test_raters_may_not_open_a_version_or_its_download(rater_client, usability_set):
    assert rater_client.get(reverse("eval_sets:detail", args=[usability_set.pk])).status_code == 403
    assert rater_client.get(reverse("eval_sets:export", args=[usability_set.pk])).status_code == 403


def test_the_admin_lists_versions_read_only(client, usability_set):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("boss", "boss@example.org", "pw-for-tests")
    client.force_login(admin)
    assert client.get(reverse("admin:eval_sets_evalset_changelist")).status_code == 200
    assert client.get(reverse("admin:eval_sets_prompt_changelist")).status_code == 200
    assert client.get(reverse("admin:eval_sets_evalset_add")).status_code == 403


def test_metadata_is_shown_as_json_behind_a_disclosure(researcher_client):
    eval_set = eval_set_import(data=samples.MTBENCH, filename="mt.jsonl").eval_set
    page = researcher_client.get(reverse("eval_sets:detail", args=[eval_set.pk])).content.decode()
    assert "<summary>Metadata</summary>" in page
    assert "&quot;4&quot;" in page


def test_a_conversation_shows_every_user_turn(researcher_client):
    eval_set = eval_set_import(data=samples.MTBENCH, filename="mt.jsonl").eval_set
    page = researcher_client.get(reverse("eval_sets:detail", args=[eval_set.pk])).content.decode()
    assert "2 turns" in page
    assert "Now make it rhyme." in page


def test_the_download_header_of_a_set_named_with_a_quote_and_slash_stays_well_formed(researcher_client):
    # Finding 8: the header is built by Django's content_disposition_header, which quotes the name.
    eval_set = EvalSet.objects.create(
        name='bad/name"x', version=1, content_hash="h-bad", source_format="jsonl"
    )
    response = researcher_client.get(reverse("eval_sets:export", args=[eval_set.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="bad/name\\"x-v1.jsonl"'


def test_a_file_of_unknown_shape_is_told_to_choose_in_the_pages_own_format_menu(researcher_client):
    upload = SimpleUploadedFile("odd.jsonl", jsonl({"foo": 1, "bar": 2}))
    page = researcher_client.post(
        reverse("eval_sets:upload"), {"file": upload, "format": "auto"}
    ).content.decode()
    assert "cannot tell the format" in page
    assert "Format on the upload page" in page  # the menu beside it, not only the command's flag
