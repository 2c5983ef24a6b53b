"""The songs on screen as M3U and CSV downloads and Spotify links to copy."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import gradio as gr

from services.common.playlists import export_filename, spotify_links, to_csv, to_m3u
from services.ui.query import SearchState
from services.ui.slots import Slots, slots

log = logging.getLogger("pixelplay.ui")

EXPORT_DIR = Path(tempfile.gettempdir()) / "pixelplay-exports"  # Gradio serves files from the temp dir


def write_export(kind: str, text: str) -> Path:
    """Write one export under a folder named after its content, so the same list reuses its file
    and two users' lists never overwrite each other."""
    digest = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()[:16]
    path = EXPORT_DIR / digest / export_filename(kind)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")  # CSV already carries its CRLF endings
    return path


@slots("result_tools", "links_box", "export_m3u", "export_csv", "export_links")
def exports(state: SearchState | None) -> Slots:
    """Refreshed whenever the results change."""
    songs = [hit.song for hit in (state or SearchState()).hits]
    if not songs:
        hidden = gr.update(visible=False)
        return {"result_tools": hidden, "links_box": hidden, "export_links": ""}
    out = {"links_box": gr.update(visible=True), "export_links": spotify_links(songs)}
    try:
        m3u = write_export("m3u", to_m3u(songs))
        csv_file = write_export("csv", to_csv(songs))
    except OSError as exc:  # a full or read-only temp dir: the links still work
        log.warning("exports not written: %s", exc)
        return out | {"result_tools": gr.update(visible=False)}
    return out | {
        "result_tools": gr.update(visible=True),
        "export_m3u": gr.update(value=str(m3u)),
        "export_csv": gr.update(value=str(csv_file)),
    }
