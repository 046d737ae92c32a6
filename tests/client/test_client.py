"""The client's calls and typed errors, over HTTP to a live server."""

from __future__ import annotations

import pytest

from tests.factories import make_campaign, rate


def test_the_client_raises_typed_errors_naming_the_field(live_server, live_token, tmp_path) -> None:
    from usability_client import BadRequest, Client, NotFound, Unauthorized

    api = Client(live_server.url, token=live_token)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "category": "c", "setting": "zero_shot", "prompt": "x"}\n{"id": "b"}\n')
    with pytest.raises(BadRequest, match="line 2"):
        api.upload_eval_set(bad, format="usability")
    with pytest.raises(BadRequest) as refused:
        api.generate(model="none", eval_set="none", temperature=-1)
    assert refused.value.field == "temperature"
    with pytest.raises(NotFound):
        api.campaign(999)
    with pytest.raises(Unauthorized):
        Client(live_server.url, token="usk_wrong").models()


def test_the_client_reads_a_campaigns_report_ratings_and_dataset(
    live_server, live_token, rater, tmp_path
) -> None:
    from usability_client import Client

    campaign = make_campaign(name="clientcamp", n_prompts=3, raters=[rater])
    rate(campaign, rater, "left")
    api = Client(live_server.url, token=live_token)
    remote = api.campaigns()[0]
    assert remote.progress()["complete"] is True
    assert remote.report()["overall"]["n"] == 3
    assert len(list(remote.ratings())) == 3
    folder = remote.hf_dataset(tmp_path / "ds")
    assert (folder / "README.md").is_file()
