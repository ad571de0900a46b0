"""Inputs of the dendritic-balance experiments: pattern streams and the fade between them.

A *pattern stream* hands the simulator, for every network of a batch, the
next patterns of its training or test sequence as an array (B, n, n_x). Each
pattern is shown for ``l`` steps (100 ms); during the first 30 % of them the
input ramps linearly from the previous pattern (as in the authors' code, :func:`fade_weights`).

Task preparation specific to Mikulasch et al. (2021) lives here: MNIST digits
0-2 downscaled to 16x16 in the sequential training order (Fig 3/6), bars with
correlated pairs per network (Fig 4, S3), natural-image patches (Fig 5). The
raw data come from :mod:`eicore.datasets` (host NumPy arrays).
"""

from __future__ import annotations

from ..backend import asarray, get_xp, host
from ..datasets import load_mnist, make_bars, natural_image_patches
from ..errors import ConfigurationError

__all__ = [
    "BarsStream",
    "SequenceStream",
    "fade_weights",
    "mnist012",
    "scenes_patterns",
]


def fade_weights(l: int, fade: float = 0.3):
    """Weight of the new pattern at each of the ``l`` steps of a presentation (host array).

    ``f_k = min(1, (k + 1) / (l * fade))``: input = f x_new + (1 - f) x_old.
    """
    k = host.arange(l, dtype=host.float64)
    return host.minimum(1.0, (k + 1.0) / (l * fade)).astype(host.float32)


class SequenceStream:
    """Fixed pattern data shown to every network in a per-network order.

    ``data`` (N, n_x) host array; ``order`` (B, P) host int array (indices
    into data), wrapped around when a run asks for more than P patterns.
    """

    def __init__(self, data, order, xp=None):
        self.xp = xp or get_xp()
        self.data = asarray(data, dtype=self.xp.float32, xp=self.xp)
        self.order = host.asarray(order, dtype=host.int64)
        if self.order.ndim == 1:
            self.order = self.order[None, :]
        self.pos = 0

    @property
    def n_x(self) -> int:
        return int(self.data.shape[1])

    def take(self, n: int):
        """The next ``n`` patterns of every network, (B, n, n_x)."""
        P = self.order.shape[1]
        cols = (self.pos + host.arange(n)) % P
        self.pos += n
        idx = self.order[:, cols].reshape(-1)
        xp = self.xp
        out = xp.take(self.data, xp.asarray(idx, dtype=xp.int64), axis=0)
        return xp.reshape(out, (self.order.shape[0], n, self.n_x))

    def reset(self):
        self.pos = 0
        return self

    def snapshot(self) -> int:
        """What changes while the stream is read: its position (see :meth:`restore`)."""
        return self.pos

    def restore(self, snap: int) -> SequenceStream:
        self.pos = int(snap)
        return self


class BarsStream:
    """Bar images with correlated pairs, generated on the fly, one generator per network.

    ``p_corr`` (B,) pair probability per network; ``seeds`` (B,) one seed per
    network, so a batch sees exactly the images each network would see alone.
    """

    def __init__(self, p_corr, seeds, side: int = 8, xp=None):
        self.xp = xp or get_xp()
        self.p_corr = [float(p) for p in p_corr]
        self.side = side
        self.gens = [host.random.default_rng(s) for s in seeds]
        if len(self.gens) != len(self.p_corr):
            raise ConfigurationError("BarsStream needs one seed per p_corr value")
        self.last_bars = None

    @property
    def n_x(self) -> int:
        return self.side * self.side

    def take(self, n: int):
        imgs, bars = [], []
        for g, p in zip(self.gens, self.p_corr):
            im, br = make_bars(n, self.side, p, seed=g)
            imgs.append(im.reshape(n, -1))
            bars.append(br)
        self.last_bars = host.stack(bars)
        return asarray(host.stack(imgs), dtype=self.xp.float32, xp=self.xp)

    def snapshot(self) -> dict:
        """What changes while the stream is read: the generators' states."""
        return dict(gens=[g.bit_generator.state for g in self.gens], last_bars=self.last_bars)

    def restore(self, snap: dict) -> BarsStream:
        for g, st in zip(self.gens, snap["gens"], strict=True):
            g.bit_generator.state = st
        self.last_bars = snap["last_bars"]
        return self


def _resize_bilinear(images, size: int):
    """Bilinear resize of (N, h, w) host images to (N, size, size), pixel-centre aligned."""
    n, h, w = images.shape

    def axis(m_in):
        c = (host.arange(size) + 0.5) * (m_in / size) - 0.5
        c = host.clip(c, 0, m_in - 1)
        i0 = host.floor(c).astype(int)
        i1 = host.minimum(i0 + 1, m_in - 1)
        return i0, i1, (c - i0).astype(host.float32)

    r0, r1, rf = axis(h)
    c0, c1, cf = axis(w)
    top = images[:, r0][:, :, c0] * (1 - cf) + images[:, r0][:, :, c1] * cf
    bot = images[:, r1][:, :, c0] * (1 - cf) + images[:, r1][:, :, c1] * cf
    return (top * (1 - rf[:, None]) + bot * rf[:, None]).astype(host.float32)


def mnist012(split: str = "train", n: int | None = None, size: int = 16, data_dir=None):
    """MNIST digits 0, 1, 2 in the data set's own (sequential) order, resized to ``size``.

    Returns host arrays ``(images (N, size*size) float32 in [0, 1], labels)``.
    The authors resize with Images.jl ``imresize`` (ratio 16/28); here a
    bilinear resize with pixel-centre alignment stands in.
    """
    imgs, labels = load_mnist(split, data_dir=data_dir)
    keep = labels < 3
    imgs, labels = imgs[keep], labels[keep]
    if n is not None:
        imgs, labels = imgs[:n], labels[:n]
    small = _resize_bilinear(imgs, size)
    return small.reshape(len(small), -1), labels


def scenes_patterns(n: int, seed=0):
    """Natural-image inputs (n, 128): 8x8 whitened patches, split into +/- and squashed."""
    return natural_image_patches(n, patch=8, seed=seed)
