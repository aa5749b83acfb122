"""Inter-process locks on files, through ``filelock`` (``flock`` on Unix, ``msvcrt`` on Windows).

One helper, ``exclusive_lock``, serves every lock of the package: ``folder_lock`` (one benchmark
writer per output folder, refused at once) and the CT system-matrix cache (a second process waits
for the first to write the matrix, then reads it).
"""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

import filelock

from patchnr.errors import PatchNRError


class LockBusy(PatchNRError):
    """Another holder kept the lock for longer than the wait allowed."""


@contextmanager
def exclusive_lock(path: str | os.PathLike, timeout: float, remove: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` for the block (the file and its folder are created
    when missing).

    ``timeout``: seconds to wait while another process or thread holds it; 0 makes one attempt.
    ``remove``: delete the lock file on release. A process that was already waiting then holds the
    old file while a newcomer may lock a new one, so use it only where every holder re-checks the
    work the lock guards before doing it (as the CT matrix cache does).
    Raises ``LockBusy`` when the lock was not had in time, and ``OSError`` when the lock file cannot
    be created (a read-only folder, say).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(os.fspath(path))
    try:
        lock.acquire(timeout=max(0.0, float(timeout)))
    except filelock.Timeout:
        raise LockBusy(f"{path} is held by another process or thread") from None
    try:
        yield
    finally:
        lock.release()
        if remove:
            with suppress(OSError):
                path.unlink()
