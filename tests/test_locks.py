"""File locks (``patchnr.io.locks``): importable without ``fcntl``, one writer per benchmark folder,
one build of a CT system matrix for processes that need it at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from patchnr.errors import PatchNRError
from patchnr.io.locks import LockBusy, exclusive_lock
from patchnr.io.outputs import LOCK_NAME, folder_lock

REPO = Path(__file__).resolve().parents[1]


def _environment(**extra: str) -> dict[str, str]:
    """The test's environment with the repository first on ``PYTHONPATH``, plus ``extra``."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def _python(code: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], text=True, **popen)


def test_patchnr_imports_and_locks_without_fcntl(tmp_path):
    """Where ``fcntl`` does not exist (Windows), ``import patchnr`` works and the folder lock still
    refuses a second holder."""
    code = f"""
        import sys
        sys.modules["fcntl"] = None  # any import of fcntl now fails, as on Windows
        import patchnr
        from patchnr.errors import PatchNRError
        from patchnr.io.outputs import folder_lock
        with folder_lock({str(tmp_path)!r}):
            try:
                with folder_lock({str(tmp_path)!r}):
                    sys.exit("a second holder was admitted")
            except PatchNRError:
                pass
        with folder_lock({str(tmp_path)!r}):
            pass
        print("ok")
    """
    process = _python(code, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert out.strip() == "ok"


def test_folder_lock_refuses_another_process_with_one_line(tmp_path):
    """A folder whose lock file another process holds is refused at once, with one line; the lock
    goes with its holder. The holder takes the file lock directly: it need not import torch."""
    holder = _python(f"""
        import sys
        import filelock
        with filelock.FileLock({str(tmp_path / LOCK_NAME)!r}):
            print("held", flush=True)
            sys.stdin.read()
    """, env=_environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PatchNRError) as refused:
            with folder_lock(tmp_path):
                pass
        message = str(refused.value)
        assert message.startswith(f"another benchmark is writing to {tmp_path}") and "\n" not in message
    finally:
        holder.kill()  # no release: the operating system drops the lock of a process that ends
        holder.wait(timeout=60)
    with folder_lock(tmp_path):
        assert (tmp_path / LOCK_NAME).exists()


def test_exclusive_lock_waits_then_gives_up(tmp_path):
    path = tmp_path / "sub" / "x.lock"
    with exclusive_lock(path, timeout=0):
        with pytest.raises(LockBusy):
            with exclusive_lock(path, timeout=0.2):
                pass
    with exclusive_lock(path, timeout=0, remove=True):
        pass
    assert not path.exists()


_BUILDER = """
    import hashlib, sys, time
    from pathlib import Path
    import numpy as np
    from patchnr.operators.ct import ray_transform as ct

    builds, ready, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    original = ct.build_system_matrix

    def counted(geometry):
        with open(builds, "a") as log:
            log.write(name + "\\n")
        time.sleep(1.0)  # the other process asks for the matrix while this one builds it
        return original(geometry)

    ct.build_system_matrix = counted
    (ready / name).touch()
    deadline = time.monotonic() + 240
    while len(list(ready.iterdir())) < 2:  # both processes ask at the same moment
        if time.monotonic() > deadline:
            sys.exit("the other process did not start")
        time.sleep(0.01)
    digest = hashlib.sha256()
    for pair in ct.load_system_blocks(ct.small_geometry()):
        for matrix in pair:
            for part in (matrix.indptr, matrix.indices, matrix.data):
                digest.update(np.ascontiguousarray(part).tobytes())
    print(digest.hexdigest())
"""


def test_two_processes_on_an_empty_cache_build_the_matrix_once(tmp_path):
    pytest.importorskip("astra")
    cache, ready, builds = tmp_path / "cache", tmp_path / "ready", tmp_path / "builds.txt"
    ready.mkdir()
    environment = _environment(PATCHNR_CACHE=str(cache))
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(_BUILDER), str(builds), str(ready), name],
                                  env=environment, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for name in ("first", "second")]
    results = [process.communicate(timeout=600) for process in processes]
    for process, (_, err) in zip(processes, results):
        assert process.returncode == 0, err
    assert len(builds.read_text().splitlines()) == 1
    digests = {out.strip() for out, _ in results}
    assert len(digests) == 1
    from patchnr.operators.ct import ray_transform as ct

    cached = ct.matrix_cache_path(ct.small_geometry()).name
    assert [path.name for path in cache.iterdir()] == [cached]  # the lock file is gone, no temporaries left


def test_a_cache_lock_held_too_long_is_one_line(tmp_path, monkeypatch):
    from patchnr.operators.ct import ray_transform as ct

    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    monkeypatch.setattr(ct, "CACHE_LOCK_TIMEOUT", 0.2)
    monkeypatch.setattr(ct, "build_system_matrix", lambda geometry: pytest.fail("built without the lock"))
    geometry = ct.small_geometry()
    with exclusive_lock(ct.matrix_lock_path(geometry), timeout=0):
        with pytest.raises(PatchNRError, match="another process has been building the CT matrix") as refused:
            ct.load_system_blocks(geometry)
    assert "\n" not in str(refused.value)
