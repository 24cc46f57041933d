"""The top-level ``dockyard --help`` text, rendered by click ahead of time.

click renders the help in ~40 ms here, nearly all of it importing click; the text only depends on the command table
(``main.py``), the group's options (``app.py``), click's formatting code and the width click chooses (from the
terminal: ``min(columns, 100) - 2``, at least 50). :func:`build` renders it through the real click command line for
every width and keeps the texts in ``__pycache__/dockyard-help.<tag>.marshal`` beside the package (as Python keeps
its bytecode: written on purpose, by ``python -m dockyard.cli.helpcache``, which ``scripts/install.sh`` runs).
:func:`cached` answers from it only while the file still describes this code: the size and modification time of
those three sources and click's help formatter are part of it. Anything else — no file, another width rule, a
change — and ``main`` asks click, as before.
"""

from __future__ import annotations

import marshal
import os
import sys

__all__ = ["CACHE_FILE", "build", "cached"]

CACHE_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "__pycache__",
    f"dockyard-help.{sys.implementation.cache_tag}.marshal",
)
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = (os.path.join(_HERE, "main.py"), os.path.join(_HERE, "app.py"))
_CLICK_FILES = ("core.py", "formatting.py", "decorators.py", "utils.py")
MIN_WIDTH, MAX_WIDTH = 50, 98  # click: max(min(columns, max_content_width=100) - 2, 50)


def _stamp(paths: list[str]) -> list[tuple[str, int, int]]:
    out = []
    for path in paths:
        st = os.stat(path)
        out.append((path, st.st_mtime_ns, st.st_size))
    return out


def _width() -> int:
    import shutil  # what click measures the terminal with

    return max(min(shutil.get_terminal_size().columns, MAX_WIDTH + 2) - 2, MIN_WIDTH)


def cached() -> str | None:
    """The help click would print now (without the final newline), or None when the cache cannot say."""
    try:
        with open(CACHE_FILE, "rb") as f:
            data = marshal.load(f)
        if not isinstance(data, dict) or data.get("stamp") != _stamp([p for p, _, _ in data["stamp"]]):
            return None
        if [p for p, _, _ in data["stamp"]][: len(_SOURCES)] != list(_SOURCES):
            return None
        text = data["texts"].get(_width())
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        return None
    return text if isinstance(text, str) else None


def _render(width: int) -> str:
    """``dockyard --help`` through the click command line, as a terminal of ``width + 2`` columns gets it."""
    import contextlib
    import io

    from dockyard.cli.app import cli

    out = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width + 2)
    try:
        with contextlib.redirect_stdout(out):
            cli.main(["--help"], prog_name="dockyard", standalone_mode=False)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    text = out.getvalue()
    if not text.endswith("\n"):
        raise ValueError("unexpected help output")
    return text[:-1]


def build() -> int:
    """Render every width and write the cache; the number of texts."""
    import click

    click_dir = os.path.dirname(os.path.abspath(click.__file__))
    texts = {width: _render(width) for width in range(MIN_WIDTH, MAX_WIDTH + 1)}
    stamp = _stamp([*_SOURCES, *(os.path.join(click_dir, name) for name in _CLICK_FILES)])
    tmp = f"{CACHE_FILE}.{os.getpid()}"
    os.makedirs(os.path.dirname(CACHE_FILE), exist_ok=True)
    with open(tmp, "wb") as f:
        marshal.dump({"stamp": stamp, "texts": texts}, f)
    os.replace(tmp, CACHE_FILE)
    return len(texts)


if __name__ == "__main__":
    print(f"{build()} help texts cached in {CACHE_FILE}")
