"""Discrete-time simulation of batched stochastic spiking coding networks (Mikulasch et al. 2021).

One step ``t`` of every network (chapter *Model*, spec §1.3):

1. input ``x(t)``: the current pattern, faded in from the previous one (:mod:`.inputs`);
2. potential ``u(t)`` from ``x(t)`` and the traces ``y(t-1)`` (one-step transmission delay);
3. spikes ``s_j(t) = [U < sigmoid(u_j)]``, drawn here as ``u_j > L`` with logistic noise
   ``L = log(U / (1 - U))`` (the same event);
4. traces ``y(t) = exp(-dt/tau) y(t-1) + s(t)`` (the authors truncate this kernel after 5 tau).

**Blocks.** The steps are simulated in blocks of ``K`` steps (about 20 ms, ``K`` divides
the 100 ms presentation) during which the parameters are held fixed. At the end of a
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

from ..backend import host, is_numpy_namespace, namespace, to_numpy
from ..errors import ConfigurationError
from .inputs import fade_weights
from .network import Network

__all__ = ["LogisticNoise", "Simulation", "block_length", "event_driven_update"]


def block_length(l: int, dt: float, block_ms: float = 20.0) -> int:
    """Largest divisor of the presentation length ``l`` (steps) not above ``block_ms / dt``."""
    target = max(1, int(round(block_ms / dt)))
    return max(k for k in range(1, min(l, target) + 1) if l % k == 0)


class LogisticNoise:
    """Per-step logistic noise (T, B, n_z), one host generator per network, drawn in chunks."""

    def __init__(self, seeds, n_z: int, xp, chunk: int = 2000):
        self.gens = [host.random.default_rng(s) for s in seeds]
        self.n_z, self.xp, self.chunk = n_z, xp, chunk
        self.buf = None
        self.pos = 0

    def _draw(self, n: int):
        # 23 random bits per value from the raw 64-bit PCG64 output (two values per word):
        # U = (k + 1/2) 2^-23 lies strictly inside (0, 1); L = log(U / (1 - U)) is logistic
        nv = n * self.n_z
        raw = host.empty((len(self.gens), (nv + 1) // 2), dtype=host.uint64)
        for b, g in enumerate(self.gens):
            raw[b] = g.bit_generator.random_raw((nv + 1) // 2)
        k = raw.view(host.uint32)[:, :nv].reshape(len(self.gens), n, self.n_z) >> 9
        u = k.astype(host.float32)
        u *= host.float32(2.0**-23)
        u += host.float32(2.0**-24)
        u /= host.float32(1.0) - u
        host.log(u, out=u)
        return host.ascontiguousarray(u.transpose(1, 0, 2))  # (n, B, n_z)

    def take(self, k: int):
        if self.buf is None or self.pos + k > self.buf.shape[0]:
            rest = self.buf[self.pos :] if self.buf is not None else None
            new = self._draw(max(self.chunk, k))
            self.buf = new if rest is None or rest.shape[0] == 0 else host.concatenate([rest, new])
            self.pos = 0
        out = self.buf[self.pos : self.pos + k]
        self.pos += k
        return self.xp.asarray(out)


def event_driven_update(M, x0, z0, gap: int, lam: float, eta: float):
    """The authors' closed-form decoder/F update over ``gap`` steps after a spike event.

    ``M`` (n_x, n_z) is the decoder (D or Fᵀ), held fixed; ``x0`` is held at its value at
    the last event and the traces decay from ``z0``. Returns
    ``M + eta (x0 (z0 e1)ᵀ - (M z0)(z0 e2)ᵀ)`` with ``e1 = sum_{m=0}^{gap} lam^m`` and
    ``e2 = sum_{m=0}^{gap} lam^{2m}`` (spec §1.6). Used by the tests to check the block form.
    """
    e1 = sum(lam**m for m in range(gap + 1))
    e2 = sum(lam ** (2 * m) for m in range(gap + 1))
    return M + eta * (x0[:, None] * (z0 * e1)[None, :] - (M @ z0)[:, None] * (z0 * e2)[None, :])


def _tsolve(A, B):
    """X with X A = B for symmetric A (batched): X = solve(A, Bᵀ)ᵀ."""
    xp = namespace(A, B)
    return xp.permute_dims(xp.linalg.solve(A, xp.permute_dims(B, (0, 2, 1))), (0, 2, 1))


#: above this value of e tr(YY) a network's block update is taken implicitly
_IMPLICIT_ABOVE = 0.25


def _relax(X, E, rhs, right: bool):
    """Solve ``X_new (I + E) = rhs`` (``right``) or ``(I + E) X_new = rhs`` to first order.

    ``E = e YY`` is symmetric positive semi-definite, (B, n, n). The explicit step
    ``rhs - X E`` is used for each network whose ``tr(E)`` is small (the usual case); a
    network whose block held a burst of spikes (``tr(E) > 0.25``) gets the implicit
    solution, which stays stable however large ``E`` is. The choice is made per network,
    so a batch behaves exactly as separate runs.
    """
    xp = namespace(X, E, rhs)
    n = E.shape[-1]
    eye = xp.eye(n, dtype=E.dtype)
    out = rhs - (X @ E if right else E @ X)
    tr = xp.sum(E * eye, axis=(1, 2))
    need = tr > _IMPLICIT_ABOVE
    if bool(xp.any(need)):
        A = eye + E
        imp = _tsolve(A, rhs) if right else xp.linalg.solve(A, rhs)
        out = xp.where(xp.reshape(need, (-1,) + (1,) * (out.ndim - 1)), imp, out)
    return out


def _col(a, nd: int):
    xp = namespace(a)
    return xp.reshape(a, (-1,) + (1,) * (nd - 1))


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
        self.xp = net.xp
        self.l = int(round(presentation_ms / net.dt))
        self.K = block_length(self.l, net.dt, block_ms)
        self.fw = fade_weights(self.l, fade)
        self.noise = LogisticNoise(noise_seeds, net.n_z, self.xp)
        self.x_last = None
        self.t = 0  # steps simulated so far
        self._fast = is_numpy_namespace(self.xp)

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
        B = net.batch
        self._fl = self._flags()
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
                acc = 0.0
                for k0 in range(0, self.l, self.K):
                    out = self._block(x_new, x_old, k0, learn, record_loss, record_spikes)
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
    def _block(self, x_new, x_old, k0, learn, record_loss, record_spikes):
        xp, net, K = self.xp, self.net, self.K
        nz = net.n_z
        lam = net.lam
        f_host = self.fw[k0 : k0 + K]
        f = xp.asarray(f_host)
        g1 = xp.asarray(1.0 - f_host)

        s2i = 1.0 / (net.sigma * net.sigma)  # sigma^-2 (B,)
        W = net.somatic_inhibition()  # (B, nz, nz)
        Mt = xp.permute_dims(W, (0, 2, 1)) * _col(s2i, 3)  # r = y @ Mt
        c = 0.25 * xp.sum(W * xp.eye(nz, dtype=W.dtype), axis=2)
        a_new = (net.F @ x_new[:, :, None])[:, :, 0]  # F x (B, nz)
        a_old = (net.F @ x_old[:, :, None])[:, :, 0]
        base = _col(s2i, 2) * (c + net.b)
        L = self.noise.take(K)
        G = (
            f[:, None, None] * (_col(s2i, 2) * a_new)[None, ...]
            + g1[:, None, None] * (_col(s2i, 2) * a_old)[None, ...]
            + base[None, ...]
            - L
        )

        Y = self._steps(G, Mt, lam)  # (K + 1, B, nz), Y[0] = y(t0 - 1)
        # flush traces below 1e-20 to zero (no denormal floats; the authors truncate at 5 tau)
        net.y = xp.where(Y[K, ...] < 1e-20, 0.0, Y[K, ...])
        self.t += K
        Yp, Yc = Y[:K, ...], Y[1:, ...]
        S = xp.round(Yc - lam * Yp)  # spikes (K, B, nz)
        n = xp.sum(S, axis=0)
        out = {"n": to_numpy(n).astype(host.float64)}
        if record_spikes:
            out["s"] = to_numpy(xp.permute_dims(S, (1, 0, 2))) > 0.5
        Ycb = xp.permute_dims(Yc, (1, 0, 2))  # (B, K, nz)
        if record_loss:
            xhat = Ycb @ xp.permute_dims(net.D, (0, 2, 1))  # (B, K, nx)
            X = (f[None, :, None] * x_new[:, None, :]) + (g1[None, :, None] * x_old[:, None, :])
            err = xp.sum((X - xhat) ** 2, axis=2) / (2.0 * net.n_x)
            out["loss"] = to_numpy(xp.sum(err, axis=1)).astype(host.float64)
        if learn:
            self._learn(Yp, Yc, Ycb, n, f, g1, x_new, x_old)
        return out

    def _steps(self, G, Mt, lam):
        xp = self.xp
        K, B, nz = G.shape
        if self._fast:
            np = host
            Y = np.empty((K + 1, B, nz), dtype=np.float32)
            Y[0] = self.net.y
            r = np.empty((B, 1, nz), dtype=np.float32)
            r2 = r[:, 0, :]
            v = np.empty((B, nz), dtype=np.float32)
            s = np.empty((B, nz), dtype=bool)
            Mt = np.ascontiguousarray(Mt)  # a strided Mt would be copied at every matmul
            G = np.ascontiguousarray(G)
            lam32 = np.float32(lam)
            for k in range(K):
                yk = Y[k]
                np.matmul(yk[:, None, :], Mt, out=r)
                np.add(G[k], r2, out=v)
                np.greater(v, 0.0, out=s)
                yn = Y[k + 1]
                np.multiply(yk, lam32, out=yn)
                np.add(yn, s, out=yn)
            return xp.asarray(Y)
        ys = [self.net.y]
        for k in range(K):
            r = (ys[-1][:, None, :] @ Mt)[:, 0, :]
            s = xp.astype((G[k, ...] + r) > 0.0, xp.float32)
            ys.append(lam * ys[-1] + s)
        return xp.stack(ys, axis=0)

    def _flags(self):
        R = self.net.rules
        a = to_numpy(R["analytic"])
        return {
            "db": bool((a > 0.5).any()),
            "sb": bool((a < 0.5).any()),
            "W": bool((to_numpy(R["eta_W"]) != 0).any()),
            "slow": bool((to_numpy(R["slow"]) > 0.5).any()),
            "sim": bool((to_numpy(R["slow"]) < 0.5).any()),
        }

    def _learn(self, Yp, Yc, Ycb, n, f, g1, x_new, x_old):
        xp, net, K = self.xp, self.net, self.K
        R = net.rules
        dt = net.dt
        nz = net.n_z
        fl = self._fl
        eye = xp.eye(nz, dtype=xp.float32)
        XN = xp.stack([x_new, x_old], axis=2)  # (B, nx, 2)
        XNT = xp.permute_dims(XN, (0, 2, 1))  # (B, 2, nx)

        def wsum(Yk):  # (B, 2, nz): sum_k f_k y_k and sum_k (1 - f_k) y_k
            return xp.stack(
                [xp.sum(f[:, None, None] * Yk, axis=0), xp.sum(g1[:, None, None] * Yk, axis=0)],
                axis=1,
            )

        # sum_k x_k y_kᵀ = XN @ wsum(Y) with x_k = f_k x_new + (1 - f_k) x_old
        Wc = wsum(Yc)
        YcYc = xp.permute_dims(Ycb, (0, 2, 1)) @ Ycb
        F, D = net.F, net.D
        e = lambda name, nd: _col(R[name], nd) * dt  # noqa: E731

        # decoder (Eq 10): D += eta_D dt sum_t (x_t - D y_t) y_tᵀ; the decay term -D YY is
        # taken implicitly, D_new (I + e YY) = D + e XY, for networks whose block held a
        # burst of spikes (equal to the explicit step to first order; see _relax)
        eD = e("eta_D", 3)
        D_new = _relax(D, eD * YcYc, D + XN @ (eD * Wc), right=True)
        # homeostasis: b += eta_b dt (rho dt K - n)
        b_new = net.b + e("eta_b", 2) * (_col(R["rho"], 2) * (dt * K) - n)
        # annealing: sigma += eta_sigma dt K (sigma_f^2 - sigma^2) / sigma
        sig = net.sigma
        sig_new = sig + R["eta_sigma"] * (dt * K) * (R["sigma_final"] ** 2 - sig * sig) / sig

        if net.kind == "somatic":
            # F += eta_F dt (sum_t y_t x_tᵀ - Q F) with Q = YY for analytic DB (the exact
            # gradient with Fᵀ as decoder, Eq 5) and Q = diag(YY) for SB (Hebbian, Eq 6)
            if fl["db"] and fl["sb"]:
                a = _col(R["analytic"], 3)
                Q = a * YcYc + (1.0 - a) * (YcYc * eye)
            elif fl["db"]:
                Q = YcYc
            else:
                Q = YcYc * eye
            eF = e("eta_F", 3)
            # decay term as for D: (I + e Q) F_new = F + e sum y xᵀ to first order
            rhs = F + (eF * xp.permute_dims(Wc, (0, 2, 1))) @ XNT
            F_new = _relax(F, eF * Q, rhs, right=False)
            if fl["W"]:
                Ypb = xp.permute_dims(Yp, (1, 0, 2))
                YpYp = xp.permute_dims(Ypb, (0, 2, 1)) @ Ypb
                FXYp = (F @ XN) @ wsum(Yp)  # sum_t (F x_t) y_{t-1}ᵀ
                # learned somatic inhibition (Eq 4): W_jk -= eta_W dt (F_j.x + (W y)_j) y_k
                # (W YY term as for D): W_new (I + e YY) = W - e sum (F x) yᵀ
                eW = e("eta_W", 3)
                net.W = _relax(net.W, eW * YpYp, net.W - eW * FXYp, right=True)
        else:
            Ypb = xp.permute_dims(Yp, (1, 0, 2))
            YpYp = xp.permute_dims(Ypb, (0, 2, 1)) @ Ypb
            XYp = XN @ wsum(Yp)  # (B, nx, nz)
            Wd = net.Wd
            # A[j,i,k] = sum_t y_k(t-1) u_ij(t), u_ij = F_ji x_i + sum_k' Wd[j,i,k'] y_k'
            A = F[:, :, :, None] * XYp[:, None, :, :] + Wd @ YpYp[:, None, :, :]
            Ajj = xp.sum(A * eye[None, :, None, :], axis=3)  # sum_t y_j u_ij (B, nz, nx)
            # Wd -= eta_W dt (A + lambda K Wd), the Wd YY and decay terms as for D:
            # Wd_new ((1 + e lambda K) I + e YY) = Wd - e F_ji sum_t x_i y_k(t-1)
            eW = e("eta_W", 3)
            M = (1.0 + eW * _col(R["decay"], 3) * K) * eye + eW * YpYp
            rhs = Wd - _col(R["eta_W"] * dt, 4) * (F[:, :, :, None] * XYp[:, None, :, :])
            nx = net.n_x
            Wd2 = xp.reshape(Wd, (-1, nz * nx, nz))
            Wd2 = _relax(Wd2, M - eye, xp.reshape(rhs, (-1, nz * nx, nz)), right=True)
            net.Wd = xp.reshape(Wd2, (-1, nz, nx, nz))
            sl = _col(R["slow"], 3)
            dF = 0.0
            if fl["sim"]:
                XYpT = xp.permute_dims(XYp, (0, 2, 1))  # sum_t y_j x_i
                g = xp.sign(F) / xp.maximum(xp.abs(F), 0.002)
                kick = _col(R["kick"], 3)
                dF_sim = kick * (XYpT - g * F * XYpT) + g * Ajj - _col(R["decay"], 3) * K * F
                dF = dF + (1.0 - sl) * dF_sim
            if fl["slow"]:
                F_safe = xp.maximum(F, 1e-4)
                dF = dF + sl * (K * (net.Fbar / F_safe - F))
                net.Fbar = net.Fbar + sl * e("eta_Fbar", 3) * Ajj
            F_new = F + e("eta_F", 3) * dF
            if fl["slow"]:
                F_new = sl * xp.maximum(F_new, 1e-4) + (1.0 - sl) * F_new
        net.F, net.D, net.b, net.sigma = F_new, D_new, b_new, sig_new


def steps_per_second(dt: float) -> int:
    """Simulation steps per simulated second at time step ``dt`` (ms)."""
    return int(math.floor(1000.0 / dt + 0.5))
