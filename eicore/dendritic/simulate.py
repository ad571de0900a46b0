"""Discrete-time simulation of batched stochastic spiking coding networks (Mikulasch et al. 2021).

One step ``t`` of every network (chapter *Model*):

1. input ``x(t)``: the current pattern, faded in from the previous one (:mod:`.inputs`);
2. potential ``u(t)`` from ``x(t)`` and the traces ``y(t-1)`` (one-step transmission delay);
3. spikes ``s_j(t) = [U < sigmoid(u_j)]``, drawn here as ``u_j > L`` with logistic noise
   ``L = log(U / (1 - U))`` (the same event);
4. traces ``y(t) = exp(-dt/tau) y(t-1) + s(t)`` (the authors truncate this kernel after 5 tau).

**Blocks.** The steps are simulated in blocks of ``K`` steps (about 20 ms, ``K`` divides
the 100 ms presentation; see :func:`block_lengths` for presentations of a prime number of
steps) during which the parameters are held fixed. At the end of a
block every rule is applied once with the sums over the block of its per-step terms,
which need only the block statistics ``sum x yᵀ`` and ``sum y yᵀ`` (matrix products).
This is the same approximation the authors make: their decoder and feed-forward rules
are integrated in closed form between population spike events with the parameters
fixed, and the other rules are applied every ``updateInterval`` steps; see
:func:`event_driven_update` and the tests, which show the block and the per-step
(``K = 1``) forms agree. Logistic noise comes from one host generator per network
(so a batch equals separate runs) in chunks of thousands of steps.
"""

from __future__ import annotations

import math

from ..backend import get_xp, host, is_numpy_namespace, namespace, to_numpy
from ..errors import ConfigurationError
from .inputs import fade_weights
from .network import Network

__all__ = ["LogisticNoise", "Simulation", "block_length", "block_lengths",
           "event_driven_update"]


def block_length(l: int, dt: float, block_ms: float = 20.0) -> int:
    """Largest divisor of the presentation length ``l`` (steps) not above ``block_ms / dt``."""
    target = max(1, int(round(block_ms / dt)))
    return max(k for k in range(1, min(l, target) + 1) if l % k == 0)


def block_lengths(l: int, dt: float, block_ms: float = 20.0) -> list[int]:
    """The blocks of one presentation of ``l`` steps: ``l / K`` blocks of
    ``K =`` :func:`block_length` steps, unless that divisor is 1 although blocks of about
    ``block_ms / dt`` steps were asked for (``l`` prime, e.g. 571 steps at ``dt = 0.175``
    ms). Then one-step blocks would make the simulation about a hundred times slower, and
    the presentation is cut instead into ``ceil(l / target)`` blocks whose lengths differ
    by at most one step."""
    target = max(1, int(round(block_ms / dt)))
    K = block_length(l, dt, block_ms)
    if K > 1 or target == 1 or l <= target:
        return [K] * (l // K)
    n = -(-l // target)
    base, extra = divmod(l, n)
    return [base + 1] * extra + [base] * (n - extra)


class LogisticNoise:
    """Per-step logistic noise, one host generator per network, drawn in chunks.

    :meth:`take` returns a (B, k, n_z) array: network ``b`` always gets the next values of
    its own generator, so a batch draws exactly what separate runs would.
    """

    def __init__(self, seeds, n_z: int, xp, chunk: int = 2000):
        self.gens = [host.random.default_rng(s) for s in seeds]
        self.n_z, self.xp, self.chunk = n_z, xp, chunk
        self.buf = None
        self.pos = 0
        self._w = None  # scratch of _draw
        # how the buffer was made, to rebuild it after unpickling (see __getstate__):
        # the generators' states before the draw, its length, the leftover it extends
        self._made = None

    def _draw(self, n: int):
        # 23 random bits per value from the raw 64-bit PCG64 output (two values per word):
        # U = (k + 1/2) 2^-23 lies strictly inside (0, 1); L = log(U / (1 - U)) is logistic
        nv = n * self.n_z
        raw = host.empty((len(self.gens), (nv + 1) // 2), dtype=host.uint64)
        for b, g in enumerate(self.gens):
            raw[b] = g.bit_generator.random_raw((nv + 1) // 2)
        # the top 23 bits k as the mantissa of a float in [1, 2): 1 + k 2^-23 (exact), then
        # U = (1 + k 2^-23) - (1 - 2^-24) = (k + 1/2) 2^-23, also exact (Sterbenz)
        m = raw.view(host.uint32)[:, :nv]
        m >>= host.uint32(9)
        m |= host.uint32(0x3F800000)
        u = m.view(host.float32)
        u -= host.float32(1.0 - 2.0**-24)
        if self._w is None or self._w.shape != u.shape:
            self._w = host.empty(u.shape, dtype=host.float32)
        host.subtract(host.float32(1.0), u, out=self._w)
        u /= self._w
        host.log(u, out=u)
        return u.reshape(len(self.gens), n, self.n_z)

    def __getstate__(self):
        # the array namespace (a module) does not pickle: the owner sets it again. The
        # buffer (networks x thousands of steps x n_z values) is not stored either: the
        # generators' states before it was drawn are, and __setstate__ draws it again,
        # bitwise, which leaves the generators where they are now
        d = dict(self.__dict__)
        d["xp"] = None
        d["_w"] = None
        d["buf"] = None
        if self.buf is None:
            d["_made"] = None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        if self._made is not None:
            states, n, rest = self._made
            for g, st in zip(self.gens, states):
                g.bit_generator.state = st
            new = self._draw(n)
            self.buf = new if rest is None else host.concatenate([rest, new], axis=1)

    def take(self, k: int):
        if self.buf is None or self.pos + k > self.buf.shape[1]:
            rest = self.buf[:, self.pos :] if self.buf is not None else None
            if rest is not None and rest.shape[1] == 0:
                rest = None
            states = [g.bit_generator.state for g in self.gens]
            n = max(self.chunk, k)
            new = self._draw(n)
            if rest is not None:
                rest = rest.copy()  # not a view of the old buffer, which is dropped
                new = host.concatenate([rest, new], axis=1)
            self.buf = new
            self.pos = 0
            self._made = (states, n, rest)
        out = self.buf[:, self.pos : self.pos + k]
        self.pos += k
        xp = self.xp if self.xp is not None else get_xp()
        return xp.asarray(out)


def event_driven_update(M, x0, z0, gap: int, lam: float, eta: float):
    """The authors' closed-form decoder/F update over ``gap`` steps after a spike event.

    ``M`` (n_x, n_z) is the decoder (D or Fᵀ), held fixed; ``x0`` is held at its value at
    the last event and the traces decay from ``z0``. Returns
    ``M + eta (x0 (z0 e1)ᵀ - (M z0)(z0 e2)ᵀ)`` with ``e1 = sum_{m=0}^{gap} lam^m`` and
    ``e2 = sum_{m=0}^{gap} lam^{2m}``. Used by the tests to check the block form.
    """
    e1 = sum(lam**m for m in range(gap + 1))
    e2 = sum(lam ** (2 * m) for m in range(gap + 1))
    return M + eta * (x0[:, None] * (z0 * e1)[None, :] - (M @ z0)[:, None] * (z0 * e2)[None, :])


def _tsolve(A, B, xp=None):
    """X with X A = B for symmetric A (batched): X = solve(A, Bᵀ)ᵀ."""
    xp = xp or namespace(A, B)
    return xp.permute_dims(xp.linalg.solve(A, xp.permute_dims(B, (0, 2, 1))), (0, 2, 1))


#: above this value of e tr(YY) a network's block update is taken implicitly
_IMPLICIT_ABOVE = 0.25


def _relax(X, E, P, right: bool, tr=None, xp=None, eye=None):
    """Solve ``X_new (I + E) = X + P`` (``right``) or ``(I + E) X_new = X + P`` to first order.

    ``E = e YY`` is symmetric positive semi-definite, (B, n, n); ``tr`` its trace (B,)
    if known. The explicit step ``X (I - E) + P`` is used for each network whose
    ``tr(E)`` is small (the usual case); a network whose block held a burst of spikes
    (``tr(E) > 0.25``) gets the implicit solution, which stays stable however large ``E``
    is. The choice is made per network, so a batch behaves exactly as separate runs.
    ``xp`` and ``eye`` (the identity of E's size) may be passed to save their lookup.
    """
    xp = xp or namespace(X, E, P)
    if eye is None:
        eye = xp.eye(E.shape[-1], dtype=E.dtype)
    if tr is None:
        tr = _trace(E, xp)
    out = X @ (eye - E) if right else (eye - E) @ X
    out += P
    need = to_numpy(tr) > _IMPLICIT_ABOVE
    if need.any():
        A = eye + E
        rhs = X + P
        imp = _tsolve(A, rhs, xp) if right else xp.linalg.solve(A, rhs)
        mask = xp.reshape(xp.asarray(need), (-1,) + (1,) * (out.ndim - 1))
        out = xp.where(mask, imp, out)
    return out


def _col(a, nd: int):
    xp = namespace(a)
    return xp.reshape(a, (-1,) + (1,) * (nd - 1))


def _trace(M, xp=None):
    """Traces of a stack of square matrices, (B,)."""
    xp = xp or namespace(M)
    n = M.shape[-1]
    return xp.sum(xp.reshape(M, (-1, n * n))[:, :: n + 1], axis=1)


class Simulation:
    """Runs a :class:`~.network.Network` batch on pattern streams, learning or testing.

    Parameters
    ----------
    net
        The networks (modified in place).
    noise_seeds
        One seed per network for the spike noise.
    presentation_ms, fade, block_ms
        Pattern duration (100 ms), fade fraction (0.3) and block length target.

    Within a block in which the input is constant (after the fade) the input-related sums
    collapse to one term (``sum_k f_k y_k = sum_k y_k``, ``sum_k (1 - f_k) y_k = 0``);
    the simulator uses that shortcut, which gives the same numbers as the general form.
    """

    def __init__(
        self,
        net: Network,
        noise_seeds,
        presentation_ms: float = 100.0,
        fade: float = 0.3,
        block_ms: float = 20.0,
    ):
        if len(list(noise_seeds)) != net.batch:
            raise ConfigurationError(f"need {net.batch} noise seeds, one per network")
        self.net = net
        self.xp = xp = net.xp
        self.l = int(round(presentation_ms / net.dt))
        self.blocks = block_lengths(self.l, net.dt, block_ms)  # steps of each block
        self.fw = fade_weights(self.l, fade)
        # per block: None while the input is constant (f = 1), else the fade weights
        self._fades = []
        k0 = 0
        for K in self.blocks:
            f = self.fw[k0 : k0 + K]
            k0 += K
            const = bool((f == 1.0).all())
            self._fades.append(None if const else (xp.asarray(f), xp.asarray(1.0 - f)))
        # chunks of whole blocks (of whole presentations for uneven blocks): a refill never
        # has to join a leftover to the new chunk
        unit = self.blocks[0] if len(set(self.blocks)) == 1 else self.l
        self.noise = LogisticNoise(noise_seeds, net.n_z, xp, chunk=unit * max(1, 2000 // unit))
        self.x_last = None
        self.t = 0  # steps simulated so far
        self._fast = is_numpy_namespace(xp)

    def __getstate__(self):
        # everything that changes (network, traces, noise generators and buffer, step
        # count) pickles; the namespace and the per-run constants are set again
        d = dict(self.__dict__)
        d.pop("xp", None)
        d.pop("_c", None)
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.xp = self.net.xp
        self.noise.xp = self.xp

    # ------------------------------------------------------------------ public
    def run(
        self,
        stream,
        n_patterns: int,
        *,
        learn: bool = True,
        record_loss: bool = True,
        record_spikes: bool = False,
        chunk: int = 200,
        progress=None,
    ) -> dict:
        """Show ``n_patterns`` patterns of ``stream`` to every network.

        Returns a dict of host arrays: ``loss`` (B, n_patterns), the mean over each
        presentation of the decoder loss ``|x - D y|^2 / (2 n_x)`` (Eq 1; NaN if not
        recorded); ``counts`` (B, n_z) spikes; ``spikes`` (B, steps, n_z) if requested.
        With ``learn=False`` no parameter changes (the authors' test runs).
        """
        net = self.net
        xp = self.xp
        B = net.batch
        self._prepare()
        losses = host.full((B, n_patterns), host.nan, dtype=host.float64)
        counts = host.zeros((B, net.n_z), dtype=host.float64)
        spikes = [] if record_spikes else None
        done = 0
        while done < n_patterns:
            n = min(chunk, n_patterns - done)
            pats = stream.take(n)
            if pats.shape[0] != B:
                raise ConfigurationError(f"stream gives {pats.shape[0]} networks, net has {B}")
            for p in range(n):
                x_new = pats[:, p, :]
                x_old = x_new if self.x_last is None else self.x_last
                XN = xp.stack([x_new, x_old], axis=2)  # (B, nx, 2)
                acc = 0.0
                for fade, K in zip(self._fades, self.blocks):
                    out = self._block(x_new, XN, fade, K, learn, record_loss, record_spikes)
                    if record_loss:
                        acc = acc + out["loss"]
                    counts += out["n"]
                    if record_spikes:
                        spikes.append(out["s"])
                if record_loss:
                    losses[:, done + p] = acc / self.l
                self.x_last = x_new
            done += n
            if progress is not None:
                progress.update(n)
        res = {"loss": losses, "counts": counts}
        if record_spikes:
            res["spikes"] = host.concatenate(spikes, axis=1)
        return res

    # ------------------------------------------------------------------ internals
    def _prepare(self):
        """Flags and per-network rule columns, fixed for one :meth:`run`."""
        xp, net = self.xp, self.net
        R = net.rules
        dt, nz = net.dt, net.n_z
        a = to_numpy(R["analytic"])
        slow = to_numpy(R["slow"])
        eye = xp.eye(nz, dtype=xp.float32)
        c = {
            "db": bool((a > 0.5).any()),
            "sb": bool((a < 0.5).any()),
            "W": bool((to_numpy(R["eta_W"]) != 0).any()),
            "slow": bool((slow > 0.5).any()),
            "sim": bool((slow < 0.5).any()),
            "eye": eye,
            "eD": _col(R["eta_D"] * dt, 3),
            "eF": _col(R["eta_F"] * dt, 3),
            "eW": _col(R["eta_W"] * dt, 3),
            "eb": _col(R["eta_b"] * dt, 2),
            # per block length K (one for even blocks)
            "rhoK": {K: _col(R["rho"] * (dt * K), 2) for K in set(self.blocks)},
            "sigK": {K: R["eta_sigma"] * (dt * K) for K in set(self.blocks)},
            "sf2": R["sigma_final"] ** 2,
        }
        if net.kind == "somatic":
            an = _col(R["analytic"], 3)
            c["qmask"] = an + (1.0 - an) * eye  # Q = YY (DB) or diag(YY) (SB)
        else:
            c["decay"] = _col(R["decay"], 3)
            c["slow3"] = _col(R["slow"], 3)
            c["kick"] = _col(R["kick"], 3)
            c["eFbar"] = _col(R["eta_Fbar"] * dt, 3)
        self._c = c

    def _inhibition(self):
        """Somatic inhibition W (B, nz, nz) that drives the dynamics (see the network)."""
        net, c = self.net, self._c
        if net.kind == "somatic" and not c["sb"]:
            return -(net.F @ net.D)  # analytic DB only
        if net.kind == "somatic" and not c["db"]:
            return net.W  # SB only
        return net.somatic_inhibition()

    def _block(self, x_new, XN, fade, K, learn, record_loss, record_spikes):
        xp, net = self.xp, self.net
        lam = net.lam
        s2i = 1.0 / (net.sigma * net.sigma)  # sigma^-2 (B,)
        W = self._inhibition()  # (B, nz, nz)
        s2i_2 = xp.reshape(s2i, (-1, 1))
        Mt = xp.permute_dims(W, (0, 2, 1)) * s2i_2[:, :, None]  # r = y @ Mt
        base = s2i_2 * (0.25 * xp.linalg.diagonal(W) + net.b)
        L = xp.permute_dims(self.noise.take(K), (1, 0, 2))  # (K, B, nz)
        FX = net.F @ XN  # (B, nz, 2): F x_new, F x_old
        if fade is None:  # constant input: only x_new
            negG = L - (s2i_2 * FX[:, :, 0] + base)[None, ...]
        else:
            f, g1 = fade
            A = s2i_2[:, :, None] * FX
            drive = f[:, None, None] * A[None, :, :, 0] + g1[:, None, None] * A[None, :, :, 1]
            negG = (L - base[None, ...]) - drive
        # spike when u = G + y @ Mt > 0, i.e. y @ Mt > -G
        Y, S = self._steps(negG, Mt, lam)  # (K + 1, B, nz) with Y[0] = y(t0 - 1); (K, B, nz)
        # flush traces below 1e-20 to zero (no denormal floats; the authors truncate at 5 tau)
        net.y = xp.where(Y[K, ...] < 1e-20, 0.0, Y[K, ...])
        self.t += K
        n = xp.sum(S, axis=0)
        out = {"n": to_numpy(n).astype(host.float64)}
        if record_spikes:
            out["s"] = to_numpy(xp.permute_dims(S, (1, 0, 2))) > 0.5
        Ycb = xp.permute_dims(Y[1:, ...], (1, 0, 2))  # (B, K, nz)
        if record_loss:
            xhat = Ycb @ xp.permute_dims(net.D, (0, 2, 1))  # (B, K, nx)
            if fade is None:
                X = x_new[:, None, :]
            else:
                x_old = XN[:, :, 1]
                X = f[None, :, None] * x_new[:, None, :] + g1[None, :, None] * x_old[:, None, :]
            err = xp.sum((X - xhat) ** 2, axis=2) / (2.0 * net.n_x)
            out["loss"] = to_numpy(xp.sum(err, axis=1)).astype(host.float64)
        if learn:
            self._learn(Y, Ycb, n, fade, XN, FX, K)
        return out

    def _steps(self, negG, Mt, lam):
        xp = self.xp
        K, B, nz = negG.shape
        if self._fast:
            np = host
            Y = np.empty((K + 1, B, nz), dtype=np.float32)
            S = np.empty((K, B, nz), dtype=np.float32)
            Y[0] = self.net.y
            r = np.empty((B, 1, nz), dtype=np.float32)
            r2 = r[:, 0, :]
            Mt = np.ascontiguousarray(Mt)  # a strided Mt would be copied at every matmul
            negG = np.ascontiguousarray(negG)
            lam32 = np.float32(lam)
            for k in range(K):
                yk, yn, sk = Y[k], Y[k + 1], S[k]
                np.matmul(yk[:, None, :], Mt, out=r)
                np.greater(r2, negG[k], out=sk)
                np.multiply(yk, lam32, out=yn)
                np.add(yn, sk, out=yn)
            return xp.asarray(Y), xp.asarray(S)
        ys, ss = [self.net.y], []
        for k in range(K):
            r = (ys[-1][:, None, :] @ Mt)[:, 0, :]
            s = xp.astype(r > negG[k, ...], xp.float32)
            ss.append(s)
            ys.append(lam * ys[-1] + s)
        return xp.stack(ys, axis=0), xp.stack(ss, axis=0)

    def _wsum(self, Yk, fade):
        """(B, 2, nz): ``sum_k f_k y_k`` and ``sum_k (1 - f_k) y_k`` (0 for constant input).

        (Kept two rows even for constant input: a stacked matmul with an inner dimension
        of 1 is an order of magnitude slower in NumPy than one with 2.)
        """
        xp = self.xp
        if fade is None:
            out = xp.zeros((Yk.shape[1], 2, Yk.shape[2]), dtype=Yk.dtype)
            out[:, 0, :] = xp.sum(Yk, axis=0)
            return out
        f, g1 = fade
        return xp.stack(
            [xp.sum(f[:, None, None] * Yk, axis=0), xp.sum(g1[:, None, None] * Yk, axis=0)],
            axis=1,
        )

    def _learn(self, Y, Ycb, n, fade, XB, FX, K):
        """Apply every rule once with the sums over the block (see the module docstring).

        ``XB`` (B, nx, 2) holds x_new and x_old, ``FX = F @ XB``;
        ``sum_k x_k y_kᵀ = XB @ wsum(Y)``; ``K`` the block's steps.
        """
        xp, net, c = self.xp, self.net, self._c
        nz = net.n_z
        eye = c["eye"]
        Yc = Y[1:, ...]
        Wc = self._wsum(Yc, fade)  # (B, 2, nz)
        YcYc = xp.permute_dims(Ycb, (0, 2, 1)) @ Ycb
        tr_c = _trace(YcYc, xp)
        rel = dict(xp=xp, eye=eye)
        F, D = net.F, net.D

        # decoder (Eq 10): D += eta_D dt sum_t (x_t - D y_t) y_tᵀ; the decay term -D YY is
        # taken implicitly, D_new (I + e YY) = D + e XY, for networks whose block held a
        # burst of spikes (equal to the explicit step to first order; see _relax)
        eD = c["eD"]
        D_new = _relax(D, eD * YcYc, XB @ (eD * Wc), right=True, tr=eD[:, 0, 0] * tr_c, **rel)
        # homeostasis: b += eta_b dt (rho dt K - n)
        b_new = net.b + c["eb"] * (c["rhoK"][K] - n)
        # annealing: sigma += eta_sigma dt K (sigma_f^2 - sigma^2) / sigma
        sig = net.sigma
        sig_new = sig + c["sigK"][K] * (c["sf2"] - sig * sig) / sig

        need_p = net.kind == "dendritic" or c["W"]
        if need_p:
            # sums over the previous steps y(t-1): Y[0..K-1]
            Wp = self._wsum(Y[:K, ...], fade)
            Ypb = xp.permute_dims(Y[:K, ...], (1, 0, 2))
            YpYp = xp.permute_dims(Ypb, (0, 2, 1)) @ Ypb
            tr_p = _trace(YpYp, xp)

        if net.kind == "somatic":
            # F += eta_F dt (sum_t y_t x_tᵀ - Q F) with Q = YY for analytic DB (the exact
            # gradient with Fᵀ as decoder, Eq 5) and Q = diag(YY) for SB (Hebbian, Eq 6)
            if c["db"] and c["sb"]:
                Q = c["qmask"] * YcYc
            elif c["db"]:
                Q = YcYc
            else:
                Q = YcYc * eye
            eF = c["eF"]
            # decay term as for D: (I + e Q) F_new = F + e sum y xᵀ to first order
            P = (eF * xp.permute_dims(Wc, (0, 2, 1))) @ xp.permute_dims(XB, (0, 2, 1))
            F_new = _relax(F, eF * Q, P, right=False, tr=eF[:, 0, 0] * tr_c, **rel)
            if c["W"]:
                FXYp = FX @ Wp  # sum_t (F x_t) y_{t-1}ᵀ
                # learned somatic inhibition (Eq 4): W_jk -= eta_W dt (F_j.x + (W y)_j) y_k
                # (W YY term as for D): W_new (I + e YY) = W - e sum (F x) yᵀ
                eW = c["eW"]
                trW = eW[:, 0, 0] * tr_p
                net.W = _relax(net.W, eW * YpYp, -eW * FXYp, right=True, tr=trW, **rel)
        else:
            XYp = XB @ Wp  # sum_t x_t y_{t-1}ᵀ (B, nx, nz)
            Wd = net.Wd
            # A[j,i,k] = sum_t y_k(t-1) u_ij(t), u_ij = F_ji x_i + sum_k' Wd[j,i,k'] y_k'
            FXY = F[:, :, :, None] * XYp[:, None, :, :]
            A = FXY + Wd @ YpYp[:, None, :, :]
            Ajj = xp.sum(A * eye[None, :, None, :], axis=3)  # sum_t y_j u_ij (B, nz, nx)
            # Wd -= eta_W dt (A + lambda K Wd), the Wd YY and decay terms as for D:
            # Wd_new ((1 + e lambda K) I + e YY) = Wd - e F_ji sum_t x_i y_k(t-1)
            eW = c["eW"]
            E = eW * c["decay"] * K * eye + eW * YpYp
            trE = eW[:, 0, 0] * (c["decay"][:, 0, 0] * K * nz + tr_p)
            nx = net.n_x
            Wd2 = xp.reshape(Wd, (-1, nz * nx, nz))
            P = xp.reshape(-eW[:, :, :, None] * FXY, (-1, nz * nx, nz))
            net.Wd = xp.reshape(_relax(Wd2, E, P, right=True, tr=trE, **rel), (-1, nz, nx, nz))
            sl = c["slow3"]
            dF = 0.0
            if c["sim"]:
                XYpT = xp.permute_dims(XYp, (0, 2, 1))  # sum_t y_j x_i
                g = xp.sign(F) / xp.maximum(xp.abs(F), 0.002)
                dF_sim = c["kick"] * (XYpT - g * F * XYpT) + g * Ajj - c["decay"] * K * F
                dF = dF + (1.0 - sl) * dF_sim
            if c["slow"]:
                F_safe = xp.maximum(F, 1e-4)
                dF = dF + sl * (K * (net.Fbar / F_safe - F))
                net.Fbar = net.Fbar + sl * c["eFbar"] * Ajj
            F_new = F + c["eF"] * dF
            if c["slow"]:
                F_new = sl * xp.maximum(F_new, 1e-4) + (1.0 - sl) * F_new
        net.F, net.D, net.b, net.sigma = F_new, D_new, b_new, sig_new


def steps_per_second(dt: float) -> int:
    """Simulation steps per simulated second at time step ``dt`` (ms)."""
    return int(math.floor(1000.0 / dt + 0.5))
