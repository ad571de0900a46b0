"""Data loaders: the real IDX files, corrupt files, offline errors, bars, image patches."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import struct

import numpy as np
import pytest

from eicore import datasets
from eicore.errors import CorruptDataError, DataNotFoundError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _write_idx(path, array, compress=False):
    codes = {np.dtype("u1"): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}
    a = np.asarray(array)
    header = bytes([0, 0, codes[a.dtype], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    raw = header + a.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return raw


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data anywhere and every download refused (a closed local port)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("EICORE_DATA", str(empty))
    monkeypatch.setenv("EICORE_CACHE", str(tmp_path / "cache"))
    for name, ds in datasets.DATASETS.items():
        refused = dataclasses.replace(ds, urls=("http://127.0.0.1:9/",))
        monkeypatch.setitem(datasets.DATASETS, name, refused)
    return empty


# --------------------------------------------------------------------------- real files
@pytest.mark.parametrize("loader", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_real_idx_files_load(data_dir, loader, split, n):
    x, y = getattr(datasets, f"load_{loader}")(split, data_dir=data_dir)
    assert x.shape == (n, 28, 28) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(y, minlength=10).size == 10


def test_mnist_class_counts_and_first_labels(data_dir):
    _, y = datasets.load_mnist("train", data_dir=data_dir)
    assert np.bincount(y).tolist() == MNIST_TRAIN_COUNTS
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    _, yf = datasets.load_fashion_mnist("train", data_dir=data_dir)
    assert np.bincount(yf).tolist() == [6000] * 10


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_files_match_published_md5(data_dir, name):
    for f in datasets.DATASETS[name].files.values():
        raw = gzip.decompress((data_dir / name / (f.name + ".gz")).read_bytes())
        assert hashlib.md5(raw).hexdigest() == f.content_md5


def test_eicore_data_variable_is_searched_first(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("EICORE_DATA", str(data_dir))
    monkeypatch.setenv("EICORE_CACHE", str(tmp_path))
    p = datasets.find_idx_file("mnist", "t10k-labels", download=False)
    assert p.parent == data_dir / "mnist"


# --------------------------------------------------------------------------- IDX format
@pytest.mark.parametrize("compress", [False, True])
def test_tiny_idx_round_trips(tmp_path, compress):
    a = np.arange(2 * 3 * 4, dtype="u1").reshape(2, 3, 4)
    raw = _write_idx(tmp_path / "tiny", a, compress)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "tiny"), a)
    md5 = hashlib.md5(raw).hexdigest()
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "tiny", md5), a)
    f = np.linspace(0, 1, 6).astype(">f4").reshape(2, 3)
    _write_idx(tmp_path / "f", f)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "f"), f)


def test_truncated_idx_is_a_clear_error(tmp_path):
    _write_idx(tmp_path / "t", np.zeros((5, 4, 4), "u1"))
    raw = (tmp_path / "t").read_bytes()
    (tmp_path / "t").write_bytes(raw[:-7])
    with pytest.raises(CorruptDataError, match="truncated.*delete it"):
        datasets.read_idx(tmp_path / "t")
    (tmp_path / "h").write_bytes(raw[:6])
    with pytest.raises(CorruptDataError, match="truncated"):
        datasets.read_idx(tmp_path / "h")


def test_corrupt_gzip_and_bad_magic_are_clear(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 100) + bytes(100))
    (tmp_path / "c.gz").write_bytes(good[:30])
    with pytest.raises(CorruptDataError, match="cannot decompress"):
        datasets.read_idx(tmp_path / "c.gz")
    (tmp_path / "m").write_bytes(b"PK\x03\x04whatever")
    with pytest.raises(CorruptDataError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "m")


def test_checksum_mismatch_is_clear(tmp_path, offline):
    folder = offline / "mnist"
    folder.mkdir()
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10000, 28, 28), "u1"), True)
    with pytest.raises(CorruptDataError, match="MD5.*expected 2646ac64"):
        datasets.load_mnist("test")


def test_missing_data_offline_names_file_and_variable(offline):
    with pytest.raises(DataNotFoundError) as info:
        datasets.load_mnist("train")
    msg = str(info.value)
    assert "mnist/train-images-idx3-ubyte.gz" in msg
    assert "EICORE_DATA" in msg and "download failed" in msg
    assert isinstance(info.value, FileNotFoundError)


def test_unknown_split_and_dataset():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        datasets.load_mnist("validation")
    with pytest.raises(ValueError, match="unknown data set"):
        datasets.find_idx_file("cifar", "train-images")


# --------------------------------------------------------------------------- small data sets
def test_digits():
    x, y = datasets.load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == 1.0 and set(y.tolist()) == set(range(10))


def test_bars_structure_and_pair_correlation():
    side, n = 8, 20000
    x, bars = datasets.make_bars(n, side=side, p_corr=0.7, seed=3)
    assert x.shape == (n, side, side) and bars.shape == (n, 2)
    # the image is exactly the union of its two bars
    rebuilt = np.zeros_like(x)
    for k, (a, b) in enumerate(bars[:200]):
        for bar in (a, b):
            if bar < side:
                rebuilt[k, bar, :] = 1
            else:
                rebuilt[k, :, bar - side] = 1
    np.testing.assert_array_equal(rebuilt[:200], x[:200])
    # P(second = pair of first) = p + (1 - p) / (2 side)
    paired = np.mean(bars[:, 1] == (bars[:, 0] + side) % (2 * side))
    assert abs(paired - (0.7 + 0.3 / 16)) < 0.015
    # first bars uniform over the 16 ids
    counts = np.bincount(bars[:, 0], minlength=2 * side)
    assert counts.min() > 0.8 * n / 16
    x0, b0 = datasets.make_bars(1000, side=4, p_corr=0.0, seed=1)
    assert abs(np.mean(b0[:, 1] == (b0[:, 0] + 4) % 8) - 1 / 8) < 0.04
    again = datasets.make_bars(5, seed=9)[0]
    np.testing.assert_array_equal(datasets.make_bars(5, seed=9)[0], again)
    with pytest.raises(ValueError, match="p_corr"):
        datasets.make_bars(3, p_corr=1.5)


def test_whitening_flattens_the_spectrum():
    """Whitening a 1/f image makes its radial power spectrum far flatter at low frequency."""
    g = np.random.default_rng(0)
    n = 64
    f = np.fft.fftfreq(n) * n
    rho = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    spec = (g.normal(size=(n, n)) + 1j * g.normal(size=(n, n))) / np.maximum(rho, 1)
    img = np.real(np.fft.ifft2(spec))
    w = datasets.whiten_image(img)
    pw = np.abs(np.fft.fft2(w)) ** 2
    p0 = np.abs(np.fft.fft2(img)) ** 2
    band = lambda p, lo, hi: p[(rho >= lo) & (rho < hi)].mean()  # noqa: E731
    assert band(p0, 1, 3) / band(p0, 8, 12) > 10
    assert 0.1 < band(pw, 1, 3) / band(pw, 8, 12) < 3
    with pytest.raises(ValueError, match="square"):
        datasets.whiten_image(np.zeros((4, 5)))


def test_natural_image_patches_statistics():
    x = datasets.natural_image_patches(5000, seed=0)
    assert x.shape == (5000, 128) and x.dtype == np.float32
    assert 0.0 < x.min() and x.max() <= 1.0
    # the spec's stand-in measurement: input mean 0.21, 57.6% below 0.1, 8.4% above 0.9
    assert abs(x.mean() - 0.21) < 0.03
    assert abs((x < 0.1).mean() - 0.576) < 0.05 and abs((x > 0.9).mean() - 0.084) < 0.03
    # the + and - halves mirror each other around the shift
    x64 = np.clip(x.astype(np.float64), 1e-6, 1 - 1e-6)
    v = np.log(x64 / (1 - x64)) / 16 + 0.15
    ok = (x > 1e-5).all(axis=1) & (x < 1 - 1e-5).all(axis=1)
    np.testing.assert_allclose(v[ok, :64], -v[ok, 64:], atol=2e-3)
