"""A plotly figure as an empty container plus its JSON, drawn by one static script (static/core/plots.js).

No figure carries an inline script: the site's Content-Security-Policy runs only its own files, and a
figure drawn by its own inline call would also run before plotly.js has loaded. A
``<script type="application/json">`` block is data, which CSP neither runs nor blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOTS_JS = Path(__file__).resolve().parents[1] / "static" / "core" / "plots.js"
# The same escapes as Django's json_script: "<" can then never close the element, whatever the data.
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def figure_html(figure: go.Figure | Mapping[str, Any], *, config: dict[str, Any] | None = None) -> SafeString:
    """The container plotly draws into, followed by the figure (a Figure or a plotly dict) as JSON."""
    import plotly.io as pio

    body = pio.to_json(figure, validate=False)
    # plotly's JSON is an object; the config travels beside it so the script needs no other input.
    config_json = "{}" if config is None else _dumps(config)
    payload = '{"figure": ' + body + ', "config": ' + config_json + "}"
    return format_html(
        '<div class="plotly-graph-div" data-plot></div>'
        '<script type="application/json" data-plot-figure>{}</script>',
        SafeString(payload.translate(_JSON_ESCAPES)),
    )


def plotly_js() -> str:
    """plotly.js itself, for the offline report that must carry everything inside one file."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def plots_js() -> str:
    """The drawing script itself, for the offline report that must carry everything inside one file."""
    return PLOTS_JS.read_text(encoding="utf-8")


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value)
