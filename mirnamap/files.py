"""File names and output paths: safe, unique, bounded names and writability checked up front.

A base module (it imports nothing from mirnamap), so every stage that writes files can use
it. Two promises live here: a picture file or folder per record never collides with
another record's (ids that are equal, or that become equal once unsafe characters are
replaced, get numbered names), and an output path that cannot be written is refused
*before* the work starts, with a message naming the path.

>>> unique_names(["mir-1", "mir-1", "a/b", "a_b"])
['mir-1', 'mir-1~2', 'a_b', 'a_b~2']
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from mirnamap.errors import OutputError

__all__ = [
    "MAX_NAME_BYTES",
    "atomic_write",
    "check_output_dir",
    "check_output_file",
    "output_error",
    "safe_name",
    "unique_names",
]

#: Longest name made from an id, in bytes (file systems allow 255; room is left for a
#: numbering suffix and an extension such as ``.learning_curve.png``).
MAX_NAME_BYTES = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(record_id: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file-name-safe version of an id: unsafe characters become ``_``, length bounded.

    Parameters
    ----------
    record_id : str
        Any record identifier.
    max_bytes : int, optional
        Longest result (the result is ASCII, so bytes = characters). Default is 120.

    Returns
    -------
    str
        Only ``A-Z a-z 0-9 . _ -``; never empty, never ``.`` or ``..``.

    >>> safe_name("hsa-mir-21/α")
    'hsa-mir-21__'
    >>> len(safe_name("x" * 300))
    120
    """
    name = _UNSAFE.sub("_", str(record_id))[:max_bytes]
    return "_" if name in ("", ".", "..") else name


def unique_names(
    ids: Iterable[str], max_bytes: int = MAX_NAME_BYTES, *, reserved: Iterable[str] = ()
) -> list[str]:
    """One distinct safe name per id, in order: later clashes get ``~2``, ``~3``, ...

    Clashes are found case-insensitively (``A`` and ``a`` are one file on macOS and
    Windows), so the names are distinct on every file system.

    Parameters
    ----------
    ids : iterable of str
        N record identifiers (duplicates allowed).
    max_bytes : int, optional
        Longest name before the numbering suffix. Default is 120.
    reserved : iterable of str, optional
        Names already taken in the folder (its own tables, say), never given to an id.
        Default is none.

    Returns
    -------
    list of str
        N distinct names.

    >>> unique_names(["summary.tsv", "x"], reserved=["summary.tsv"])
    ['summary.tsv~2', 'x']
    """
    names: list[str] = []
    taken: set[str] = {name.casefold() for name in reserved}
    for record_id in ids:
        base = safe_name(record_id, max_bytes)
        name, k = base, 1
        while name.casefold() in taken:
            k += 1
            name = f"{base}~{k}"
        taken.add(name.casefold())
        names.append(name)
    return names


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()


def _check_creatable(path: Path, what: str) -> None:
    """Raise ValueError unless ``path`` (missing) can be created as a folder or file."""
    anchor = _first_existing(path.parent)
    if not anchor.is_dir():
        raise ValueError(f"{what} {path}: {anchor} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=anchor):
            pass
    except OSError as error:
        raise ValueError(f"{what} {path}: cannot write in {anchor} ({error.strerror})") from None


def check_output_dir(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Check, before any work, that ``path`` is or can become a writable folder.

    Raises
    ------
    ValueError
        If ``path`` is a file, lies under a file, or its folder cannot be written.

    >>> check_output_dir(tempfile.gettempdir()).is_dir()
    True
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{what} {path}: is a file, not a folder")
        _check_creatable(path / "x", what)
    else:
        _check_creatable(path, what)
    return path


def check_output_file(path: str | os.PathLike[str], what: str = "output file") -> Path:
    """Check, before any work, that ``path`` can be written as a file.

    Raises
    ------
    ValueError
        If ``path`` is a folder, lies under a file, or its folder cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path}: is a folder, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{what} {path}: not writable")
    _check_creatable(path, what)
    return path


def output_error(path: str | os.PathLike[str], error: OSError) -> OutputError:
    """One line naming the file and the cause, e.g. ``out/p.tsv: cannot write (No space
    left on device)``, as an :class:`~mirnamap.errors.OutputError` that keeps the errno."""
    cause = error.strerror or str(error) or type(error).__name__
    failed = OutputError(f"{path}: cannot write ({cause})")
    failed.errno = error.errno
    return failed


def _new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 less this process's umask."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    return 0o644


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", *, fsync: bool = False, **options: Any
) -> Iterator[IO[Any]]:
    """Open ``path`` for writing under a temporary name beside it; rename on success.

    Readers never see a half-written file under the final name: the data goes to a hidden
    ``.<name>.<random>.tmp`` in the same folder (so the rename is atomic), which replaces
    ``path`` only when the block ends without an error. On any error the temporary file
    is removed; an ``OSError`` (a full disk, a read-only folder) becomes an
    :class:`~mirnamap.errors.OutputError` naming ``path``. The folder is created.

    Parameters
    ----------
    path : str or PathLike
        The final file.
    mode : {"w", "wb"}, optional
        Text or bytes. Default is "w" (UTF-8, ``newline=""`` unless given).
    fsync : bool, optional
        Flush to disk before the rename (for files a later run relies on, such as a
        journal). Default is False.
    **options
        Passed to :func:`open` (``encoding``, ``newline``).

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_write(target) as handle:
    ...     _ = handle.write("done")
    >>> target.read_text()
    'done'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    if mode == "w":
        options = {"encoding": "utf-8", "newline": "", **options}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp"
        )
    except OSError as error:
        raise output_error(path, error) from None
    try:
        with open(descriptor, mode, **options) as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): give it the mode an open() would have.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else _new_file_mode())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise output_error(path, error) from None
        raise
