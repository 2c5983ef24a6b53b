"""Memory of an encoder replica: once the ONNX towers serve, the torch model they were exported
from is dead weight (about 600 MB for ViT-B-32 in fp32, more while torch's allocator holds its
freed pages). Dropping it lets more replicas fit on a node."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 where it is not available)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _return_freed_memory() -> None:
    """glibc keeps freed small blocks in its arenas; malloc_trim hands them back to the OS."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def release_torch_model(clip) -> tuple[int, int]:
    """Drop ``clip.model`` (a ``LoadedClip``) and return freed memory to the OS; (RSS before, after).

    Only for the ONNX runtime: tokenizer and preprocessing stay, nothing else reads the model."""
    before = rss_bytes()
    clip.model = None
    gc.collect()
    _return_freed_memory()
    after = rss_bytes()
    log.info("torch model released: RSS %.0f MB -> %.0f MB", before / 2**20, after / 2**20)
    return before, after
