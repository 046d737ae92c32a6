"""Model output as safe HTML: Markdown with code blocks, no raw HTML, no script-bearing links.

Model output is untrusted. markdown-it escapes every character of text it does not turn into
Markdown structure; with `html` off, tags in the text come out as text. Links are kept only for
http(s) and mailto, and images are rendered as plain links so a response cannot make the rater's
browser fetch anything.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML

SAFE_SCHEMES = {"http", "https", "mailto"}


def link_is_safe(url: str) -> bool:
    # Strip the control and blank characters browsers ignore inside a scheme ("java\tscript:").
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f").strip()
    scheme = urlsplit(cleaned).scheme.lower()
    return scheme in SAFE_SCHEMES if scheme else not cleaned.startswith("//")


def _render_link_open(renderer: RendererHTML, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    tokens[idx].attrSet("target", "_blank")
    return renderer.renderToken(tokens, idx, options, env)


def _render_image(renderer: RendererHTML, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = escape(renderer.renderInlineAsText(token.children or [], options, env))
    src = escape(str(token.attrGet("src") or ""))
    return f'<span class="image-ref">[image: {alt or "untitled"}] <code>{src}</code></span>'


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = link_is_safe  # type: ignore[method-assign]
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    return md


def render_markdown(text: str) -> str:
    """Safe HTML for untrusted Markdown text."""
    return _markdown().render(text)
