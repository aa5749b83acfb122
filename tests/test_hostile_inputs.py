"""Property-based check of the CLI's promise on generated hostile inputs.

For every generated case: exit code 0 or 2, never a traceback. A user error (exit 2) prints exactly
one stderr line, warns nothing, and leaves the folder exactly as it was (names, sizes, mtimes and
hashes). A valid case (exit 0) leaves its inputs unchanged and writes complete outputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import tempfile
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from patchnr import FlowConfig, PatchFlow, load_flow, save_flow
from patchnr.cli.main import main
from tests.conftest import texture

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- generated inputs --------------------------------------------------------------------------------

DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.uint8, np.int8, np.bool_, np.complex64])
SHAPES = st.one_of(st.just(()), st.tuples(st.integers(0, 20)), array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=20))
HOSTILE_ARRAYS = st.one_of(
    DTYPES.flatmap(lambda dtype: arrays(dtype, SHAPES)),
    st.just(np.array([[{"a": 1}, None]], dtype=object)),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.0, -1.0]).map(lambda v: np.full((16, 16), v, np.float32)),
)
PLAUSIBLE_IMAGES = arrays(np.float32, st.sampled_from([(16, 16), (12, 20)]), elements=st.floats(0, 1, width=32))
IMAGE_ARRAYS = st.one_of(HOSTILE_ARRAYS, PLAUSIBLE_IMAGES)

MAGIC = st.sampled_from([b"", b"\x93NUMPY\x01\x00", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"PK\x03\x04", b"\x80\x02"])
FILE_BYTES = st.tuples(MAGIC, st.binary(max_size=300)).map(b"".join)

GARBAGE_NUMBERS = st.sampled_from(["nan", "inf", "-inf", "-1", "0", "", "abc", "1e400", "0x1f", "1_0", " ", str(2**64), str(-2**63)])
# counts up to 3 or beyond int32: a valid large count would only make the case slow
COUNTS = st.one_of(GARBAGE_NUMBERS, st.integers(-10**30, 3).map(str), st.integers(2**31, 10**30).map(str))
FLOATS = st.one_of(GARBAGE_NUMBERS, st.floats(allow_nan=True, allow_infinity=True).map(repr), st.floats(-10, 10).map(repr))
SEEDS = st.one_of(GARBAGE_NUMBERS, st.integers(-10**30, 10**30).map(str))

RECONSTRUCT_OPTIONS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["--iterations", "--patches"]), COUNTS),
    st.tuples(st.sampled_from(["--lam", "--lr"]), FLOATS),
    st.tuples(st.just("--seed"), SEEDS),
), min_size=1, max_size=3)
TRAIN_OPTIONS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["--patch-size", "--layers", "--width", "--batch", "--checkpoint-every", "--steps"]), COUNTS),
    st.tuples(st.sampled_from(["--lr", "--minutes"]), FLOATS),
    st.tuples(st.just("--seed"), SEEDS),
), min_size=1, max_size=3)


# --- the promise ----------------------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Relative path → (size, mtime in ns, sha256) of every file under ``folder``."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(folder.rglob("*")) if path.is_file()}


def check_promise(folder: Path, argv: list, outputs: dict[str, callable]) -> int:
    """Run ``main(argv)`` and check the promise; ``outputs`` maps each output file name of a successful
    run to a function that loads it (raising if it is incomplete). Returns the exit code."""
    before = snapshot(folder)
    stdout, stderr = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        warnings.simplefilter("always")
        try:
            code = main([str(a) for a in argv])
        except BaseException:  # noqa: BLE001 — any escape from main breaks the promise
            pytest.fail(f"main({argv}) raised:\n{traceback.format_exc()}")
    err = stderr.getvalue()
    after = snapshot(folder)
    assert "Traceback" not in err, err
    assert code in (0, 2), f"exit {code} for {argv}: {err}"
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("patchnr"), err
        assert not caught, [str(w.message) for w in caught]
        assert after == before, f"files changed by a refused run {argv}: {sorted(set(after) ^ set(before))}"
        return code
    assert {name: after[name] for name in before} == before, "an input was modified"
    for name, load in outputs.items():
        load(folder / name)
    return code


@pytest.fixture(scope="module")
def tiny_weights_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_flow(path, PatchFlow(FlowConfig(patch_size=6, num_layers=1, hidden_width=8)))
    return path


@contextlib.contextmanager
def case_folder(weights: Path):
    """A fresh folder with a valid 16×16 observation, its 64×64 ground truth and tiny weights."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        truth = texture(64)
        np.save(folder / "hr.npy", truth)
        np.save(folder / "lr.npy", truth.reshape(16, 4, 16, 4).mean(axis=(1, 3)))
        shutil.copy(weights, folder / "w.pt")
        yield folder


def reconstruct_argv(folder: Path, *extra) -> list:
    return ["reconstruct", "--op", "sr-x4", "--observation", folder / "lr.npy", "--weights", folder / "w.pt",
            "--out", folder / "rec.npy", "--iterations", "1", "--patches", "50", "--quiet", *extra]


def load_reconstruction(path: Path) -> None:
    array = np.load(path)
    assert array.ndim == 2 and array.dtype == np.float32


# --- reconstruct ------------------------------------------------------------------------------------------

@SETTINGS
@given(array=IMAGE_ARRAYS, role=st.sampled_from(["observation", "ground truth"]))
def test_reconstruct_with_generated_arrays(tiny_weights_file, array, role):
    with case_folder(tiny_weights_file) as folder:
        np.save(folder / "x.npy", array, allow_pickle=array.dtype == object)
        if role == "observation":
            argv = reconstruct_argv(folder)
            argv[argv.index("--observation") + 1] = folder / "x.npy"
        else:
            argv = reconstruct_argv(folder, "--ground-truth", folder / "x.npy")
        check_promise(folder, argv, {"rec.npy": load_reconstruction})


@SETTINGS
@given(options=RECONSTRUCT_OPTIONS)
def test_reconstruct_with_generated_option_values(tiny_weights_file, options):
    with case_folder(tiny_weights_file) as folder:
        check_promise(folder, reconstruct_argv(folder, *[item for pair in options for item in pair]), {"rec.npy": load_reconstruction})


@SETTINGS
@given(content=FILE_BYTES, role=st.sampled_from(["--observation", "--ground-truth", "--weights"]),
       suffix=st.sampled_from([".npy", ".png", ".tif", ".pt"]))
def test_reconstruct_with_generated_file_contents(tiny_weights_file, content, role, suffix):
    with case_folder(tiny_weights_file) as folder:
        (folder / f"x{suffix}").write_bytes(content)
        argv = reconstruct_argv(folder)
        if role in argv:
            argv[argv.index(role) + 1] = folder / f"x{suffix}"
        else:
            argv += [role, folder / f"x{suffix}"]
        assert check_promise(folder, argv, {"rec.npy": load_reconstruction}) == 2


# --- train ---------------------------------------------------------------------------------------------------

def load_checkpoint(path: Path) -> None:
    _, metadata = load_flow(path)
    assert metadata["step"] >= 1


def load_log(path: Path) -> None:
    assert path.read_text().startswith("step,train_nll,val_nll")


@SETTINGS
@given(image=IMAGE_ARRAYS, options=st.one_of(st.just([]), TRAIN_OPTIONS))
def test_train_with_generated_images_and_options(image, options):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        np.save(folder / "a.npy", image, allow_pickle=image.dtype == object)
        argv = ["train", folder / "a.npy", "--out", folder / "p.pt", "--steps", "1", "--layers", "1", "--width", "8",
                "--batch", "16", *[item for pair in options for item in pair]]
        check_promise(folder, argv, {"p.pt": load_checkpoint, "p.csv": load_log})
