"""Model output as safe HTML: Markdown with code blocks and GitHub-style tables, no raw HTML.

Model output is untrusted. markdown-it escapes every character of text it does not turn into
Markdown structure; with `html` off, tags in the text come out as text. Links are kept only for
http(s) and mailto, and images are rendered as plain links so a response cannot make the rater's
browser fetch anything. Links carry `rel="noopener noreferrer nofollow"` and no referrer. Headings
inside an answer are rendered three levels down (`#` becomes `<h4>`), so they sit below the page's
own labels in the outline and in size.

What a rater is served is capped at `DISPLAY_MAX_CHARS` characters, with a visible note: a runaway
answer must not freeze the page. Researchers see the full text everywhere else.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML

SAFE_SCHEMES = {"http", "https", "mailto"}
# Three times the longest answer of the real models in ../shared/real-outputs (6,748 characters).
DISPLAY_MAX_CHARS = 20_000
HEADING_SHIFT = 3
TRUNCATED_NOTE = "answer truncated for display"


def link_is_safe(url: str) -> bool:
    # Strip the control and blank characters browsers ignore inside a scheme ("java\tscript:").
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f").strip()
    scheme = urlsplit(cleaned).scheme.lower()
    return scheme in SAFE_SCHEMES if scheme else not cleaned.startswith("//")


def _render_link_open(renderer: RendererHTML, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("referrerpolicy", "no-referrer")
    tokens[idx].attrSet("target", "_blank")
    return renderer.renderToken(tokens, idx, options, env)


def _render_image(renderer: RendererHTML, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = escape(renderer.renderInlineAsText(token.children or [], options, env))
    src = escape(str(token.attrGet("src") or ""))
    return f'<span class="image-ref">[image: {alt or "untitled"}] <code>{src}</code></span>'


def _render_heading(renderer: RendererHTML, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    level = min(6, int(token.tag[1:]) + HEADING_SHIFT)
    token.tag = f"h{level}"
    return renderer.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = link_is_safe  # type: ignore[method-assign]
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("heading_open", _render_heading)
    md.add_render_rule("heading_close", _render_heading)
    return md


def render_markdown(text: str) -> str:
    """Safe HTML for untrusted Markdown text."""
    return _markdown().render(text)


def render_for_rater(text: str, *, limit: int = DISPLAY_MAX_CHARS) -> str:
    """Safe HTML of at most `limit` characters of the text, with a visible note when it was cut."""
    if len(text) <= limit:
        return render_markdown(text)
    cut = text[:limit]
    # End at a line break when one is near, so the cut does not split a table row or a word.
    newline = cut.rfind("\n", limit - 500)
    if newline > 0:
        cut = cut[:newline]
    note = (
        f'<p class="truncated-note" role="note">[{TRUNCATED_NOTE}: the first {len(cut):,} of '
        f"{len(text):,} characters are shown]</p>"
    )
    return render_markdown(cut) + note
