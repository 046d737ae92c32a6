"""Every form lays out its fields one way (core/_form_field.html), whichever way a page prints it."""

from __future__ import annotations

import pytest
from django import forms
from django.urls import reverse


class _Sample(forms.Form):
    name = forms.CharField(help_text="What to call it.")
    wait = forms.BooleanField(required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self) -> dict[str, object]:
        raise forms.ValidationError("Something about the whole form.")


def test_as_p_as_div_and_the_bare_form_give_the_same_one_field_layout():
    form = _Sample({"name": ""})
    assert not form.is_valid()
    html = str(form)
    assert form.as_p() == form.as_div() == html
    assert html.count('class="field"') == 2 and "<p><label" not in html and 'class="helptext"' not in html
    assert (
        '<label for="id_name">Name</label>' in html and "<label><input" in html
    )  # a checkbox inside its label
    assert 'id="id_name_helptext"' in html  # the help text the input's aria-describedby names
    assert html.count("Something about the whole form.") == 1


@pytest.mark.parametrize("name", ["generation:job_create", "finetune:job_create", "annotate:rater_list"])
def test_the_pages_that_print_a_whole_form_show_each_field_in_the_one_layout(researcher_client, name):
    page = researcher_client.get(reverse(name)).content.decode()
    assert 'class="field"' in page and "<p><label" not in page and 'class="helptext"' not in page
