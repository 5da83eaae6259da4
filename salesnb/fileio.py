"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The new content is written to a temporary file in the same folder (so the final
``os.replace`` is a rename on one file system, which POSIX makes atomic) and swapped in
only when it is complete; on any error the temporary file is removed and the old file
is left as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_path(path: str | Path, tag: str = "") -> Path:
    """The temporary sibling ``.<name>.<pid>[.<tag>].tmp`` that :func:`atomic_replace` uses
    (hidden, and named after the process, so two writers never share one)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{'.' + tag if tag else ''}.tmp")


@contextmanager
def atomic_replace(
    path: str | Path, tag: str = "", sidecars: tuple[str, ...] = ()
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without error, move it
    onto ``path`` with ``os.replace``.

    ``sidecars``: suffixes of files a writer may leave beside the temporary file (DuckDB's
    ``.wal``); they are removed with it, as are leftovers of an earlier attempt.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_replace(folder / "a.txt") as tmp:
    ...     _ = tmp.write_text("new")
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('new', ['a.txt'])
    """
    tmp = temp_path(path, tag)
    leftovers = [tmp, *(Path(str(tmp) + s) for s in sidecars)]
    for p in leftovers:
        p.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        for p in leftovers:
            p.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_replace`); returns ``path``.

    >>> import tempfile
    >>> p = atomic_write_text(Path(tempfile.mkdtemp()) / "b.json", "{}")
    >>> p.read_text()
    '{}'
    """
    path = Path(path)
    with atomic_replace(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return path
