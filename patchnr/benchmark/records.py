"""A benchmark folder's records, what makes a run resumable: ``config.json`` and ``cases.csv``.

- ``config.json``: the per-case settings (task, recipe, seed, and per method its ``Prepared.settings``).
  A re-run must agree on everything it shares with it ("refuse to mix"); new methods are added.
- ``cases.csv``: one row per finished case, appended with a single ``os.write`` of a whole line to a
  file opened ``O_APPEND`` and fsynced; a trailing partial line (a killed writer) is ignored on
  reading and cut off before the next append. A re-run skips the cases already there.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from patchnr.errors import PatchNRError
from patchnr.io.images import atomic_path

CASE_COLUMNS = ("image", "method", "seed", "psnr", "ssim", "runtime_s", "torch_threads")
CONFIG_FORMAT = "patchnr-benchmark/1"


def merge_config(out: Path, common: dict, methods: dict[str, dict]) -> dict:
    """The folder's configuration extended by ``methods`` (name → settings); ``PatchNRError`` if
    anything shared with ``out/config.json`` differs."""
    path, new = out / "config.json", {"format": CONFIG_FORMAT, "common": common, "methods": methods}
    if not path.is_file():
        if (out / "cases.csv").exists():
            raise PatchNRError(f"{out} holds cases.csv without config.json; refuse to mix results (use another --out)")
        return new
    try:
        old = json.loads(path.read_text())
        old_common, old_methods = old["common"], old["methods"]
    except (ValueError, KeyError, TypeError):
        raise PatchNRError(f"{path}: unreadable benchmark configuration; refuse to mix results (use another --out)") from None
    for key in sorted(set(old_common) | set(common)):
        if old_common.get(key) != common.get(key):
            raise PatchNRError(f"{out} holds results with {key}={old_common.get(key)!r}, not {common.get(key)!r}; refuse to mix (use another --out)")
    for method in sorted(set(old_methods) & set(methods)):
        if old_methods[method] != methods[method]:
            raise PatchNRError(f"{out} holds {method} results with other settings ({old_methods[method]} ≠ {methods[method]}); refuse to mix (use another --out)")
    return {"format": CONFIG_FORMAT, "common": common, "methods": {**old_methods, **methods}}


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` (indented, keys sorted) atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


class CaseLog:
    """A CSV of complete lines only, each appended by one ``os.write`` + ``fsync`` (module docstring).

    ``columns``: the header (``CASE_COLUMNS`` for a benchmark's ``cases.csv``).
    """

    def __init__(self, path: Path, columns: tuple[str, ...] = CASE_COLUMNS):
        self.path = Path(path)
        self.columns = tuple(columns)

    def _complete_text(self) -> str:
        if not self.path.is_file():
            return ""
        data = self.path.read_bytes()
        return data[: data.rfind(b"\n") + 1].decode()

    def rows(self) -> list[dict]:
        """Every complete data row (a trailing partial line is ignored)."""
        text = self._complete_text()
        return list(csv.DictReader(io.StringIO(text))) if text else []

    def done(self) -> set[tuple[str, str]]:
        """The (image, method) pairs with a row."""
        return {(row["image"], row["method"]) for row in self.rows()}

    def open(self) -> None:
        """Cut a trailing partial line, then write the header to an empty file."""
        complete = len(self._complete_text().encode())
        if self.path.is_file() and self.path.stat().st_size != complete:
            os.truncate(self.path, complete)
        if complete == 0:
            self._append_line(",".join(self.columns))

    def append(self, row: dict) -> None:
        """Append one row (a dict with every column)."""
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow([row[column] for column in self.columns])
        self._append_line(buffer.getvalue())

    def _append_line(self, line: str) -> None:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, (line + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
