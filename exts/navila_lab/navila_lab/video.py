"""mp4 output shared by ``navila play`` and ``navila vln``: imageio's ffmpeg writer, checked before any work starts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from navila_lab.errors import UserError


def require_mp4() -> None:
    """Fail with one line when imageio's ffmpeg plugin is missing (imageio would silently pick another format)."""
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        raise UserError("writing mp4 needs imageio's ffmpeg plugin: pip install 'imageio[ffmpeg]'")


def mp4_writer(path: str | Path, fps: int):  # noqa: ANN201 (an imageio writer)
    """Open an imageio writer of an H.264 mp4 at ``fps`` (any frame size)."""
    import imageio.v2 as imageio

    require_mp4()
    return imageio.get_writer(path, format="FFMPEG", fps=fps, macro_block_size=1)
