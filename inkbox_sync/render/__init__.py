"""Plan renderers: pure functions from a Plan to text. The CLI prints what they return."""

from inkbox_sync.render.markdown import render_markdown
from inkbox_sync.render.text import render_text

__all__ = ["render_markdown", "render_text"]
