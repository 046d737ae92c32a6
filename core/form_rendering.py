"""Every form on the site lays out its fields one way: core/_form_field.html.

`{{ form }}`, `form.as_p` and `form.as_div` would each give Django's own markup (labels in a <p>, in
a <div>, help text as a span or a div), so pages looked different by which one they used. This
renderer sends all of them to core/_form.html, which puts each visible field through the one
field template. It reads templates through the project's engine (TemplatesSetting), so the
site's templates folder is searched as well as django.forms' own widget templates.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import TemplatesSetting

ONE_LAYOUT = "core/_form.html"
DJANGOS_LAYOUTS = frozenset(
    {
        "django/forms/default.html",
        "django/forms/p.html",
        "django/forms/div.html",
        "django/forms/table.html",
        "django/forms/ul.html",
    }
)


class SiteFormRenderer(TemplatesSetting):
    form_template_name = ONE_LAYOUT

    def get_template(self, template_name: str) -> Any:
        return super().get_template(ONE_LAYOUT if template_name in DJANGOS_LAYOUTS else template_name)
