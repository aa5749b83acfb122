"""Output safety: outputs checked before any work, written all together or not at all.

- ``check_outputs`` refuses an output that is (after resolving symlinks and ``..``) one of the
  inputs or another output, and an output location that cannot be written: an existing folder, a
  parent that is a file, a read-only folder.
- ``write_all`` writes several files, each to a temporary file beside its destination, and renames
  them into place only after every one of them was written.
- ``restore_on_error`` puts files back as they were before a block when the block fails.
- ``folder_lock`` holds an exclusive lock on a folder, so that two runs never write into it at once
  (a ``patchnr.io.locks`` file lock, on every OS).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

from patchnr.errors import PatchNRError
from patchnr.io.images import atomic_path
from patchnr.io.locks import LockBusy, exclusive_lock

PathMap = Mapping[str, "str | os.PathLike | None"]  # option name (e.g. '--out') → path, None when not given


def check_outputs(outputs: PathMap, inputs: PathMap) -> None:
    """Raise ``PatchNRError`` unless every given output is a new, writable path distinct from all inputs.

    ``outputs`` and ``inputs`` map a label used in the message (an option name, or a file name) to
    a path; ``None`` entries are skipped.
    """
    given_inputs = {label: Path(path) for label, path in inputs.items() if path is not None}
    seen: dict[Path, str] = {}
    for label, path in outputs.items():
        if path is None:
            continue
        path = Path(path)
        _refuse_same_file(label, path, given_inputs)
        resolved = path.resolve()
        if resolved in seen:
            raise PatchNRError(f"{label} {path} is the same file as {seen[resolved]}; use distinct output paths")
        seen[resolved] = label
        check_writable_file(label, path)


def _refuse_same_file(label: str, output: Path, inputs: dict[str, Path]) -> None:
    for input_label, input_path in inputs.items():
        if _same_file(output, input_path):
            raise PatchNRError(f"{label} {output} is the input {input_label} {input_path}; refusing to overwrite an input")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def check_writable_file(label: str, path: str | os.PathLike) -> None:
    """Raise ``PatchNRError`` if a file cannot be created or replaced at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise PatchNRError(f"{label} {path} is a folder, not a file")
    check_writable_folder(label, path.parent)


def check_writable_folder(label: str, folder: str | os.PathLike) -> None:
    """Raise ``PatchNRError`` unless ``folder`` is (or can be created as) a writable folder."""
    folder = Path(folder).absolute()
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        raise PatchNRError(f"{label}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PatchNRError(f"{label}: cannot write to the folder {existing} (permission denied)")


def write_all(writers: Mapping[Path, Callable[[Path], None]]) -> None:
    """Write every output or none: ``writers`` maps a destination to a function writing a given path.

    Each function writes a temporary file beside its destination; the temporaries are renamed into
    place only after all functions returned, and removed if any of them raised.
    """
    with ExitStack() as stack:
        temporaries = {destination: stack.enter_context(atomic_path(destination)) for destination in writers}
        for destination, write in writers.items():
            write(temporaries[destination])


@contextmanager
def restore_on_error(paths: list[str | os.PathLike], errors: tuple[type[BaseException], ...] = (PatchNRError,)) -> Iterator[None]:
    """On one of ``errors`` inside the block, put each of ``paths`` back as it was before the block
    (a file the block created is removed). Other exceptions (e.g. Ctrl-C) leave the files as they are."""
    backups: dict[Path, Path | None] = {}
    try:
        for path in map(Path, paths):
            backups[path] = _backup(path) if path.is_file() else None
        yield
    except errors:
        for path, backup in backups.items():
            _restore(path, backup)
        backups.clear()
        raise
    finally:
        for backup in backups.values():
            if backup is not None and backup.exists():
                backup.unlink()


def _backup(path: Path) -> Path:
    handle, backup = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".backup")
    os.close(handle)
    shutil.copy2(path, backup)
    return Path(backup)


def _restore(path: Path, backup: Path | None) -> None:
    if backup is not None:
        os.replace(backup, path)
    elif path.exists():
        path.unlink()


LOCK_NAME = ".patchnr.lock"


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "benchmark") -> Iterator[None]:
    """Hold an exclusive lock on ``folder/.patchnr.lock`` for the block; another holder (a process or a
    thread) makes this a one-line ``PatchNRError`` ("another WHAT is writing to FOLDER") at once
    instead of waiting."""
    folder = Path(folder)
    with ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(folder / LOCK_NAME, timeout=0))
        except LockBusy:
            raise PatchNRError(f"another {what} is writing to {folder}; wait for it to finish or use another --out") from None
        yield
