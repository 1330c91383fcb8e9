"""Files shared in a message, as the page shows them: name, size, a download link, and a
preview of a Markdown or plain-text file (an evidence pack, say)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt

from bot.playground.standin.render import esc
from bot.playground.standin.state import StoredFile

FILES_ROUTE = "/playground/files/"
PREVIEW_LIMIT = 200_000  # bytes; a larger file is only offered for download
# CommonMark with tables; raw HTML in a file is shown as text, never run in the page.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def download_url(stored: StoredFile) -> str:
    return f"{FILES_ROUTE}{quote(stored.id)}/{quote(stored.name)}"


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def preview(stored: StoredFile) -> str:
    """The file's content as HTML, or "" when it is not text the page can show."""
    content = stored.content
    if content is None or len(content) > PREVIEW_LIMIT:
        return ""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    kind = stored.name.rsplit(".", 1)[-1].lower() if "." in stored.name else ""
    if kind in ("md", "markdown"):
        return f'<div class="bk-file-preview bk-markdown">{_MARKDOWN.render(text)}</div>'
    if kind in ("txt", "csv", "json", "log"):
        return f'<pre class="bk-file-preview">{esc(text)}</pre>'
    return ""


def shared_files(message: dict[str, Any], files: dict[str, StoredFile]) -> str:
    """The HTML of the files a message shares (after its text)."""
    shown = []
    for entry in message.get("files") or []:
        stored = files.get(str(entry.get("id")))
        if stored is None or stored.content is None:
            shown.append(f'<div class="bk-file bk-file-missing">{esc(entry.get("name"))} '
                         "(not uploaded)</div>")
            continue
        inner = preview(stored)
        details = (f'<details open><summary>Preview</summary>{inner}</details>'
                   if inner else "")
        shown.append(
            f'<div class="bk-file" data-file-id="{esc(stored.id)}">'
            f'<div class="bk-file-head">📄 <b>{esc(stored.title or stored.name)}</b> '
            f'<span class="bk-file-size">{esc(size_label(len(stored.content)))}</span> '
            f'<a class="bk-file-download" href="{esc(download_url(stored))}" '
            f'download="{esc(stored.name)}">Download</a></div>{details}</div>'
        )
    return "".join(shown)
