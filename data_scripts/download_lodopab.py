"""Download LoDoPaB-CT (Zenodo record 3384092) and extract chosen samples as .npy files.

The record holds one zip per kind and part (``ground_truth_test.zip``, ``observation_test.zip``, …,
several GB each); each zip holds HDF5 files ``{kind}_{part}_{NNN}.hdf5`` of 128 samples in the
dataset ``data``: ground truth 128×362×362 (μ/μ_max), observations 128×1000×513 (post-log).
Sample i of a part is entry i mod 128 of file i // 128. Downloads are checked against the record's
MD5 checksums and written atomically; an existing checked zip is reused.

Usage: python data_scripts/download_lodopab.py --part test --indices 0-9 [--kinds ground_truth observation]
       [--dest runs/lodopab]
Writes DEST/{kind}_{part}_{index:05d}.npy (float32).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from patchnr.io.images import atomic_path, save_array

RECORD = "3384092"
RECORD_API = f"https://zenodo.org/api/records/{RECORD}"
FILE_URL = f"https://zenodo.org/records/{RECORD}/files/{{name}}?download=1"
SAMPLES_PER_FILE = 128
KINDS = ("ground_truth", "observation")
PARTS = ("train", "validation", "test")
DEFAULT_DEST = Path(__file__).resolve().parents[1] / "runs" / "lodopab"


def sample_location(index: int, samples_per_file: int = SAMPLES_PER_FILE) -> tuple[int, int]:
    """(HDF5 file number, entry within it) of sample ``index`` of a part."""
    if index < 0:
        raise ValueError(f"sample index must be non-negative, got {index}")
    return divmod(index, samples_per_file)


def member_name(kind: str, part: str, file_number: int) -> str:
    """Name of an HDF5 file inside ``{kind}_{part}.zip``."""
    return f"{kind}_{part}_{file_number:03d}.hdf5"


def read_hdf5_samples(source, entries: list[int]) -> np.ndarray:
    """Entries of the dataset ``data`` of an HDF5 file (path or binary file object): len(entries)×…, float32."""
    import h5py

    with h5py.File(source, "r") as handle:
        if "data" not in handle:
            raise KeyError("HDF5 file has no dataset 'data'")
        data = handle["data"]
        if any(not 0 <= e < data.shape[0] for e in entries):
            raise IndexError(f"entries {entries} outside [0, {data.shape[0]})")
        return np.stack([np.asarray(data[e], dtype=np.float32) for e in entries])


def extract_samples(zip_path: Path, kind: str, part: str, indices: list[int], dest: Path) -> list[Path]:
    """Write samples ``indices`` of ``zip_path`` (``{kind}_{part}.zip``) to DEST/{kind}_{part}_{index:05d}.npy."""
    by_file: dict[int, list[int]] = {}
    for index in indices:
        by_file.setdefault(sample_location(index)[0], []).append(index)
    written = []
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory() as scratch:
        for file_number, file_indices in sorted(by_file.items()):
            # h5py wants a seekable file: unpack the member (≤ 128 samples) to a scratch folder
            hdf5 = Path(archive.extract(member_name(kind, part, file_number), scratch))
            samples = read_hdf5_samples(hdf5, [sample_location(i)[1] for i in file_indices])
            hdf5.unlink()
            for index, sample in zip(file_indices, samples):
                path = dest / f"{kind}_{part}_{index:05d}.npy"
                save_array(path, sample)
                written.append(path)
    return written


def record_checksums(url: str = RECORD_API) -> dict[str, str]:
    """File name → MD5 hex digest, from the Zenodo record's metadata."""
    with urllib.request.urlopen(url, timeout=60) as response:
        record = json.load(response)
    return {item["key"]: item["checksum"].split(":", 1)[-1] for item in record["files"]}


def md5sum(path: Path, block: int = 2**24) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def download(name: str, dest: Path, checksum: str | None) -> Path:
    """Download record file ``name`` to DEST/name (atomically), unless a copy with the right MD5 exists."""
    path = dest / name
    if path.is_file() and (checksum is None or md5sum(path) == checksum):
        return path
    print(f"downloading {name} …")
    with atomic_path(path) as temporary:
        with urllib.request.urlopen(FILE_URL.format(name=name), timeout=60) as response, open(temporary, "wb") as out:
            shutil.copyfileobj(response, out, length=2**24)
        if checksum is not None and md5sum(temporary) != checksum:
            raise OSError(f"{name}: MD5 mismatch after download")
    return path


def parse_indices(text: str) -> list[int]:
    """'0-3,7' → [0, 1, 2, 3, 7]."""
    indices: list[int] = []
    for item in text.split(","):
        low, _, high = item.partition("-")
        indices.extend(range(int(low), int(high or low) + 1))
    return indices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=PARTS, default="test")
    parser.add_argument("--indices", type=parse_indices, default=parse_indices("0-9"), help="e.g. 0-9,100")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--keep-zip", action="store_true", help="keep the downloaded zips in DEST/zips")
    args = parser.parse_args()
    checksums = record_checksums()
    zips = args.dest / "zips"
    for kind in args.kinds:
        name = f"{kind}_{args.part}.zip"
        zip_path = download(name, zips, checksums.get(name))
        for path in extract_samples(zip_path, kind, args.part, args.indices, args.dest):
            print(path)
        if not args.keep_zip:
            zip_path.unlink()


if __name__ == "__main__":
    main()
