"""Damaged files behind the commands (issue 17, "Other commands"): a build's ``ir.npz`` and
``ir.json`` and a data set's IDX files, truncated, bit-flipped, with a wrong magic number or
wrong dimensions, each end `hwbnn eval` with one line on stderr naming the file and a
non-zero exit (never BadZipFile, KeyError or zlib.error); random bit flips give that line
or, where the flipped byte carries nothing the loader reads, the undamaged result.
The commands run through the CLI's ``main()``, the function the ``hwbnn`` script calls.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_cli_inputs import assert_refused, run

from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding
from hwbnn.sim.random_nets import random_mlp

#: random single-bit flips tried per file (ir.npz, ir.json)
FLIPS = 150
IDX_FRAMES = 20


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A random MLP's rtl build, frames for it, and what `hwbnn eval` prints for them."""
    root = tmp_path_factory.mktemp("cli_files")
    net = random_mlp(np.random.default_rng(11), 16, [8], 4, 16, True)
    write_build(net, choose_folding(net, 16), root / "build", target="rtl")
    codes = np.random.default_rng(12).integers(0, 16, (8, 16))
    np.save(root / "x.npy", (codes / 15).astype(np.float32))
    np.save(root / "y.npy", np.arange(8) % 4)
    return {"build": root / "build", "x": root / "x.npy", "y": root / "y.npy", "root": root}


def _eval(build: Path, good: dict[str, Path], capfd: pytest.CaptureFixture[str]):  # noqa: ANN202
    argv = ["eval", str(build), "--inputs", str(good["x"]), "--labels", str(good["y"]), "--json"]
    return run(argv, capfd)


def _copy(good: dict[str, Path], tmp_path: Path, name: str) -> Path:
    build = tmp_path / name
    shutil.copytree(good["build"], build)
    return build


def _rezip(path: Path, members: dict[str, bytes | None]) -> None:
    """Rewrite the zip ``path`` with ``members`` replaced (None: removed; new names added)."""
    with zipfile.ZipFile(path) as archive:
        old = {i.filename: archive.read(i) for i in archive.infolist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**old, **members}.items():
            if data is not None:
                archive.writestr(name, data)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npz_damages(npz: Path) -> dict[str, Callable[[bytes], bytes] | dict[str, bytes | None]]:
    """ir.npz damages: a change of the file's bytes, or of its members (:func:`_rezip`)."""
    with zipfile.ZipFile(npz) as archive:
        weights = archive.read("fc0.weights.npy")  # uint8 (8, 2): 8 rows of 16 bits
    return {
        "empty": lambda b: b"",
        "truncated-half": lambda b: b[: len(b) // 2],
        "truncated-end": lambda b: b[:-30],
        "wrong-magic": lambda b: b"GIF8" + b[4:],
        "not-zip": lambda b: b"\x93NUMPY" + b[6:],
        "flipped-data": lambda b: b[:200] + bytes([b[200] ^ 0x10]) + b[201:],  # a CRC error
        "missing-member": {"fc0.weights.npy": None},
        "extra-member": {"stray.npy": weights},
        "not-npy-member": {"fc1.weights.npy": b"hello"},
        "float-weights": {"fc0.weights.npy": _npy(np.zeros((8, 2)))},
        "wrong-shape": {"fc0.weights.npy": _npy(np.zeros((8, 3), np.uint8))},
        "nan-scale": {"fc1.out_scale.npy": _npy(np.full(4, np.nan, np.float32))},
        "huge-header": {"fc0.weights.npy": weights.replace(b"(8, 2)", b"(8000000000, 2)")},
        "object-array": {"fc0.weights.npy": weights.replace(b"'|u1'", b"'|O' ")},
    }


def _json_damages() -> dict[str, Callable[[str], str]]:
    """ir.json damages, each a change of the file's text."""

    def doc(change: Callable[[dict], object]) -> Callable[[str], str]:
        return lambda text: json.dumps(change(json.loads(text)))

    def node(index: int, **fields: object) -> Callable[[str], str]:
        return doc(lambda d: (d["layers"][index].update(fields), d)[1])

    return {
        "empty": lambda t: "",
        "truncated": lambda t: t[: len(t) // 2],
        "not-json": lambda t: t.replace(":", "=", 1),
        "deep": lambda t: "[" * 100_000 + "]" * 100_000,
        "list": lambda t: "[1, 2]",
        "not-utf8": lambda t: "\udcff\x00",
        "format": doc(lambda d: {**d, "format": "hwbnn-ir-99"}),
        "no-layers": doc(lambda d: {k: v for k, v in d.items() if k != "layers"}),
        "layer-not-object": doc(lambda d: {**d, "layers": [1, 2, 3]}),
        "float-mh": node(1, mh=8.5),
        "string-mw": node(1, mw="16"),
        "bool-levels": node(0, levels=True),
        "negative-pixels": node(1, pixels=-3),
        "huge-pixels": node(1, pixels=2**40),
        "unknown-kind": node(1, kind="convolution"),
        "no-kind": doc(lambda d: (d["layers"][1].pop("kind"), d)[1]),
        "duplicate-name": node(2, name="fc0"),
        "unknown-input": node(2, inputs=["nowhere"]),
        "mh-mismatch": node(1, mh=7),
        "acc-bits": node(1, acc_bits=9),
        "input-shape": doc(lambda d: {**d, "input": {"shape": [15], "levels": 16}}),
        "input-levels": doc(lambda d: {**d, "input": {"shape": [16], "levels": "16"}}),
    }


def test_damaged_ir_npz_is_one_line_naming_it(
    good: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    for name, damage in _npz_damages(good["build"] / "ir.npz").items():
        build = _copy(good, tmp_path, f"npz-{name}")
        npz = build / "ir.npz"
        if isinstance(damage, dict):
            _rezip(npz, damage)
        else:
            npz.write_bytes(damage(npz.read_bytes()))
        status, _, err = _eval(build, good, capfd)
        line = assert_refused(status, err, str(build), "ir.npz")
        assert "Error" not in line.replace("ModelError", ""), line  # no raw exception name


def test_damaged_ir_json_is_one_line_naming_it(
    good: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    for name, damage in _json_damages().items():
        build = _copy(good, tmp_path, f"json-{name}")
        path = build / "ir.json"
        path.write_bytes(damage(path.read_text()).encode("utf-8", "surrogateescape"))
        status, _, err = _eval(build, good, capfd)
        assert_refused(status, err, str(path))


@pytest.mark.parametrize("member", ["ir.npz", "ir.json"])
def test_random_bit_flips_error_or_change_nothing(
    good: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str], member: str
) -> None:
    status, reference, err = _eval(good["build"], good, capfd)
    assert status == 0, err
    reference_summary = reference.strip().splitlines()[-1]
    original = (good["build"] / member).read_bytes()
    rng = np.random.default_rng(13 if member == "ir.npz" else 14)
    build = _copy(good, tmp_path, "flip")
    refused = 0
    for position in rng.choice(len(original) * 8, FLIPS, replace=False):
        data = bytearray(original)
        data[position // 8] ^= 1 << (position % 8)
        (build / member).write_bytes(bytes(data))
        status, out, err = _eval(build, good, capfd)
        if status == 0:
            # the flip hit bytes the loader does not read (a zip timestamp, the "source"
            # text): the same network, the same accumulators
            assert out.strip().splitlines()[-1] == reference_summary, (position, out)
            continue
        assert_refused(status, err, str(build))
        refused += 1
    assert refused >= FLIPS // 2, refused


# IDX files ---------------------------------------------------------------------------------


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def mnist_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random MLP over 28x28 pixels of 256 levels (the shape of MNIST)."""
    root = tmp_path_factory.mktemp("cli_idx")
    net = random_mlp(np.random.default_rng(15), 784, [8], 10, 256, True, (1, 28, 28))
    write_build(net, choose_folding(net, 64), root / "build", target="rtl")
    return root / "build"


def _mnist_dir(directory: Path, images: bytes, labels: bytes, gz: bool = False) -> Path:
    directory.mkdir()
    for stem, data in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return directory


def test_damaged_idx_files_are_one_line_naming_them(
    mnist_build: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(16)
    images = _idx(rng.integers(0, 256, (IDX_FRAMES, 28, 28)))
    labels = _idx(rng.integers(0, 10, IDX_FRAMES))
    argv = ["eval", str(mnist_build), "--dataset", "mnist", "--no-torch", "--no-onnx"]
    data = _mnist_dir(tmp_path / "good", images, labels)
    status, out, err = run([*argv, "--data-dir", str(data)], capfd)
    assert status == 0, err
    assert f"{IDX_FRAMES} frames" in out
    image_file, label_file = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
    huge = bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    cases = {
        "images-truncated": (images[:-100], labels, image_file, "promises"),
        "images-header-truncated": (images[:9], labels, image_file, "truncated"),
        "images-too-long": (images + b"\0", labels, image_file, "payload"),
        "images-wrong-magic": (b"\x08\x03\0\0" + images[4:], labels, image_file, "magic"),
        "images-float-type": (images[:2] + b"\x0d" + images[3:], labels, image_file, "magic"),
        "images-wrong-dims": (_idx(rng.integers(0, 256, (20, 784))), labels, image_file, "magic"),
        "images-huge-header": (huge + images[16:], labels, image_file, "promises"),
        "images-flipped-count": (images[:7] + b"\x15" + images[8:], labels, image_file, "promises"),
        "labels-wrong-dims": (images, _idx(np.zeros((20, 1))), label_file, "magic"),
        "labels-count": (images, _idx(np.zeros(19)), label_file, "19 labels"),
        "labels-class": (images, _idx(np.full(20, 200)), label_file, "label 200"),
        "empty": (_idx(np.zeros((0, 28, 28))), _idx(np.zeros(0)), image_file, "no images"),
    }
    for name, (x, y, culprit, word) in cases.items():
        for gz in (False, True):
            directory = _mnist_dir(tmp_path / f"{name}-{gz}", x, y, gz)
            status, _, err = run([*argv, "--data-dir", str(directory)], capfd)
            assert_refused(status, err, str(directory / culprit), word)
    # a damaged .gz stream
    directory = _mnist_dir(tmp_path / "bad-gz", images, labels, True)
    packed = (directory / f"{image_file}.gz").read_bytes()
    (directory / f"{image_file}.gz").write_bytes(
        packed[:40] + bytes([packed[40] ^ 0xFF]) + packed[41:]
    )
    status, _, err = run([*argv, "--data-dir", str(directory)], capfd)
    assert_refused(status, err, str(directory / f"{image_file}.gz"))
