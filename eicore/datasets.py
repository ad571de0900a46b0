"""Data sets used by the book: MNIST, Fashion-MNIST, 8x8 digits, bars, natural-image patches.

All loaders return **host** NumPy arrays (images as float32 in [0, 1], labels as
int64); move them to the active backend with :func:`eicore.backend.asarray`.

Where MNIST and Fashion-MNIST files are looked for, in order:

1. ``data_dir`` if given, else ``$EICORE_DATA`` (e.g. ``EICORE_DATA=../shared/data``);
2. the user cache directory (``$EICORE_CACHE`` or the platform's cache dir, sub-folder ``eicore``);
3. a download from the canonical source with :mod:`pooch` into the cache.

Below each root the files are ``mnist/<name>.gz`` or ``fashion-mnist/<name>.gz``
(uncompressed ``<name>`` also works). Every file is checked against the MD5 of
its *decompressed* IDX bytes, so re-compressed copies are accepted and corrupt
ones are not. With no file and no network, :class:`~eicore.errors.DataNotFoundError`
names the file and the ``EICORE_DATA`` variable.

Used in Part II (MNIST digits 0-2, bars, natural scenes) and Part III (digits,
MNIST, Fashion-MNIST) of the book.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

# pooch (used here and by skimage.data) imports tqdm.auto, which warns "IProgress not
# found" in a Jupyter kernel without ipywidgets; eicore.progress imports it quietly first,
# so the warning never lands in a chapter's stored output.
from . import progress  # noqa: F401
from .backend import host as np
from .errors import ConfigurationError, CorruptDataError, DataNotFoundError

__all__ = [
    "DATASETS",
    "data_search_path",
    "find_idx_file",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "make_bars",
    "natural_image_patches",
    "read_idx",
    "whiten_image",
    "whitened_images",
]


@dataclass(frozen=True)
class _IdxFile:
    name: str  # e.g. "train-images-idx3-ubyte"
    content_md5: str  # MD5 of the decompressed bytes
    gz_md5: str  # MD5 of the canonical .gz download


@dataclass(frozen=True)
class _Dataset:
    folder: str
    urls: tuple[str, ...]  # base URLs, tried in order
    files: dict[str, _IdxFile]


_SPLITS = {"train": "train", "test": "t10k"}

DATASETS: dict[str, _Dataset] = {
    "mnist": _Dataset(
        folder="mnist",
        urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files={
            "train-images": _IdxFile(
                "train-images-idx3-ubyte",
                "6bbc9ace898e44ae57da46a324031adb",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            ),
            "train-labels": _IdxFile(
                "train-labels-idx1-ubyte",
                "a25bea736e30d166cdddb491f175f624",
                "d53e105ee54ea40749a09fcbcd1e9432",
            ),
            "t10k-images": _IdxFile(
                "t10k-images-idx3-ubyte",
                "2646ac647ad5339dbf082846283269ea",
                "9fb629c4189551a2d022fa330f9573f3",
            ),
            "t10k-labels": _IdxFile(
                "t10k-labels-idx1-ubyte",
                "27ae3e4e09519cfbb04c329615203637",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
        },
    ),
    "fashion-mnist": _Dataset(
        folder="fashion-mnist",
        urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files={
            "train-images": _IdxFile(
                "train-images-idx3-ubyte",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            ),
            "train-labels": _IdxFile(
                "train-labels-idx1-ubyte",
                "9018921c3c673c538a1fc5bad174d6f9",
                "25c81989df183df01b3e8a0aad5dffbe",
            ),
            "t10k-images": _IdxFile(
                "t10k-images-idx3-ubyte",
                "8181f5470baa50b63fa0f6fddb340f0a",
                "bef4ecab320f06d8554ea6380940ec79",
            ),
            "t10k-labels": _IdxFile(
                "t10k-labels-idx1-ubyte",
                "15d484375f8d13e6eb1aabb0c3f46965",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        },
    ),
}

# IDX element types (the third magic byte) -> NumPy dtype (big-endian).
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# --------------------------------------------------------------------------- IDX files
def _cache_dir() -> Path:
    env = os.environ.get("EICORE_CACHE")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("eicore"))


def data_search_path(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data files, in order (see the module docstring)."""
    roots = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    elif os.environ.get("EICORE_DATA"):
        roots.append(Path(os.environ["EICORE_DATA"]).expanduser())
    roots.append(_cache_dir())
    return roots


def read_idx(path: str | os.PathLike, expected_md5: str | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Raises :class:`~eicore.errors.CorruptDataError` for a truncated or corrupt
    file, a bad header, or (if ``expected_md5`` is given) a checksum mismatch of
    the decompressed bytes.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptDataError(
            f"cannot decompress {path} ({exc}); delete it so that it is fetched again"
        ) from exc
    if expected_md5 is not None:
        got = hashlib.md5(raw).hexdigest()
        if got != expected_md5:
            raise CorruptDataError(
                f"{path} has MD5 {got} after decompression, expected {expected_md5}; "
                "the file is corrupt or a different version: delete it so that it is fetched again"
            )
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise CorruptDataError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(f"{path} is truncated: header needs {header} bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != size:
        raise CorruptDataError(
            f"{path} is truncated or padded: shape {shape} needs {size} data bytes, "
            f"found {len(raw) - header}; delete it so that it is fetched again"
        )
    return np.frombuffer(raw, dtype=dtype, count=size // dtype.itemsize, offset=header).reshape(
        shape
    )


def find_idx_file(
    dataset: str, key: str, data_dir: str | os.PathLike | None = None, download: bool = True
) -> Path:
    """Locate (or download) one IDX file of ``dataset`` (``"mnist"`` / ``"fashion-mnist"``)."""
    if dataset not in DATASETS:
        raise ConfigurationError(f"unknown data set {dataset!r}; choose one of {list(DATASETS)}")
    ds = DATASETS[dataset]
    f = ds.files[key]
    roots = data_search_path(data_dir)
    for root in roots:
        for name in (f.name + ".gz", f.name):
            p = root / ds.folder / name
            if p.is_file():
                return p
    cache = roots[-1] / ds.folder  # the user cache is always searched last
    errors = []
    if download:
        import pooch

        for base in ds.urls:
            try:
                return Path(
                    pooch.retrieve(
                        base + f.name + ".gz",
                        known_hash=f"md5:{f.gz_md5}",
                        fname=f.name + ".gz",
                        path=cache,
                        progressbar=False,
                    )
                )
            except Exception as exc:  # no network, HTTP error, checksum mismatch
                errors.append(f"{base}: {type(exc).__name__}")
    searched = ", ".join(str(r / ds.folder) for r in roots)
    raise DataNotFoundError(
        f"{ds.folder}/{f.name}.gz not found (searched {searched})"
        + (f" and download failed ({'; '.join(errors)})" if errors else "")
        + ". Set EICORE_DATA to a folder containing "
        f"{ds.folder}/{f.name}.gz (e.g. EICORE_DATA=../shared/data), or connect to the internet."
    )


def _load_idx_pair(dataset: str, split: str, data_dir, download: bool):
    if split not in _SPLITS:
        raise ConfigurationError(f"unknown split {split!r}; choose 'train' or 'test'")
    prefix = _SPLITS[split]
    files = DATASETS[dataset].files
    images = read_idx(
        find_idx_file(dataset, f"{prefix}-images", data_dir, download),
        files[f"{prefix}-images"].content_md5,
    )
    labels = read_idx(
        find_idx_file(dataset, f"{prefix}-labels", data_dir, download),
        files[f"{prefix}-labels"].content_md5,
    )
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise CorruptDataError(
            f"{dataset} {split}: images {images.shape} and labels {labels.shape} do not match"
        )
    return (images.astype(np.float32) / np.float32(255.0)), labels.astype(np.int64)


def load_mnist(split: str = "train", *, data_dir=None, download: bool = True):
    """MNIST digits: ``(images, labels)``, float32 (N, 28, 28) in [0, 1] and int64 (N,).

    ``split`` is ``"train"`` (60,000) or ``"test"`` (10,000).
    """
    return _load_idx_pair("mnist", split, data_dir, download)


def load_fashion_mnist(split: str = "train", *, data_dir=None, download: bool = True):
    """Fashion-MNIST: ``(images, labels)``, float32 (N, 28, 28) in [0, 1] and int64 (N,)."""
    return _load_idx_pair("fashion-mnist", split, data_dir, download)


def _require(module: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs {module.split('.')[0]}; install it with `pip install eicore[data]`"
        ) from exc


def load_digits():
    """scikit-learn's bundled 8x8 digits: float32 (1797, 8, 8) in [0, 1] and int64 labels."""
    skd = _require("sklearn.datasets", "load_digits")
    d = skd.load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


# --------------------------------------------------------------------------- bars
def make_bars(n_samples: int, side: int = 8, p_corr: float = 0.0, seed=None):
    """Földiák bars with correlated pairs (Mikulasch et al. 2021, Fig 4; spec §1.9).

    Each image draws one bar: horizontal or vertical with probability 1/2, at a
    uniformly random index k. With probability ``p_corr`` the *paired* bar (the
    other orientation at the same index k) is added; otherwise a second,
    independent random bar (which may coincide with the first). Bar pixels are
    1, others 0.

    Returns ``(images, bars)``: float32 (n, side, side) and int64 (n, 2) bar
    ids, where ids ``0..side-1`` are rows (horizontal bars) and
    ``side..2*side-1`` columns (vertical bars).
    """
    if not (0.0 <= p_corr <= 1.0):
        raise ValueError(f"p_corr must lie in [0, 1], got {p_corr}")
    if n_samples < 0 or side < 1:
        raise ValueError(f"need n_samples >= 0 and side >= 1, got {n_samples}, {side}")
    g = np.random.default_rng(seed)
    first = g.integers(0, 2 * side, n_samples)
    paired = (first + side) % (2 * side)
    second = np.where(g.random(n_samples) < p_corr, paired, g.integers(0, 2 * side, n_samples))
    images = np.zeros((n_samples, side, side), np.float32)
    rows = np.arange(n_samples)
    for bar in (first, second):
        horizontal = bar < side
        images[rows[horizontal], bar[horizontal], :] = 1.0
        images[rows[~horizontal], :, bar[~horizontal] - side] = 1.0
    return images, np.stack([first, second], axis=1).astype(np.int64)


# --------------------------------------------------------------------------- natural images
#: scikit-image photographs standing in for Olshausen's IMAGES.mat (spec §5).
NATURAL_IMAGES = (
    "camera", "grass", "gravel", "brick", "moon",
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
)  # fmt: skip


def whiten_image(image: np.ndarray) -> np.ndarray:
    """Olshausen & Field's whitening: multiply the spectrum by ``rho * exp(-(rho/f0)^4)``.

    ``f0 = 0.4 N`` (cycles per image) for an N x N image, the recipe of sparsenet's
    ``make-your-own-images``. Returns the real, zero-mean filtered image.
    """
    n = image.shape[0]
    if image.ndim != 2 or image.shape[1] != n:
        raise ValueError(f"whiten_image needs a square 2-D image, got shape {image.shape}")
    f = np.fft.fftfreq(n) * n
    fx, fy = np.meshgrid(f, f, indexing="ij")
    rho = np.sqrt(fx**2 + fy**2)
    filt = rho * np.exp(-((rho / (0.4 * n)) ** 4))
    return np.real(np.fft.ifft2(np.fft.fft2(image - image.mean()) * filt))


def whitened_images(names=NATURAL_IMAGES, size: int = 512) -> np.ndarray:
    """Grey-scale skimage photographs, centre-cropped, resized to ``size``, whitened.

    As in sparsenet, the stack is scaled so that the mean pixel variance is 0.1.
    Returns float64 (len(names), size, size).
    """
    data = _require("skimage.data", "natural_image_patches")
    color = _require("skimage.color", "natural_image_patches")
    transform = _require("skimage.transform", "natural_image_patches")
    out = []
    for name in names:
        im = getattr(data, name)()
        if im.ndim == 3:
            im = color.rgb2gray(im[..., :3])
        im = np.asarray(im, dtype=np.float64)
        if im.max() > 1.0:
            im = im / 255.0
        h, w = im.shape
        s = min(h, w)
        im = im[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        im = transform.resize(im, (size, size), order=1, anti_aliasing=True)
        out.append(whiten_image(im))
    stack = np.stack(out)
    return stack * np.sqrt(0.1) / np.sqrt(stack.var(axis=(1, 2)).mean())


def natural_image_patches(
    n_patches: int,
    patch: int = 8,
    seed=None,
    shift: float = 0.15,
    steepness: float = 16.0,
    images: np.ndarray | None = None,
):
    """Inputs of the natural-scenes experiment (Mikulasch et al. 2021, Fig 5; spec §1.9).

    Each whitened image (default :func:`whitened_images`) is downscaled by 1/2
    (bilinear), a ``patch`` x ``patch`` patch ``v`` is cut at a uniformly random
    position, and the input is the "bimodal" ``sigmoid(steepness * ([v, -v] - shift))``.
    The authors tile patches on a grid of 36 offsets; uniform positions sample
    the same distribution of patches.

    Returns float32 (n_patches, 2 * patch**2).
    """
    if images is None:
        images = whitened_images()
    transform = _require("skimage.transform", "natural_image_patches")
    small = np.stack(
        [transform.rescale(im, 0.5, order=1, anti_aliasing=False) for im in images]
    )
    g = np.random.default_rng(seed)
    k = g.integers(0, small.shape[0], n_patches)
    i = g.integers(0, small.shape[1] - patch + 1, n_patches)
    j = g.integers(0, small.shape[2] - patch + 1, n_patches)
    offs = np.arange(patch)
    v = small[k[:, None, None], (i[:, None] + offs)[:, :, None], (j[:, None] + offs)[:, None, :]]
    v = v.reshape(n_patches, patch * patch)
    x = np.concatenate([v, -v], axis=1)
    return (1.0 / (1.0 + np.exp(-steepness * (x - shift)))).astype(np.float32)
