"""Setup shared by the benchmark scripts; import it before NumPy.

Pins BLAS/OpenMP to one thread unless the caller set the variables: at the matrix sizes
of these models a second thread does not help, and on a shared 2-core machine it makes
timings much worse (disinhibition, exact-inv 3x256 under load: 352 vs 62 ms per step).
Override with e.g. ``OMP_NUM_THREADS=2``.
"""

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

for _var in THREAD_VARS:
    os.environ.setdefault(_var, "1")


def sync(xp) -> None:
    """Wait for the device to finish queued work when ``xp`` is CuPy (a no-op on NumPy and
    on the emulation), so that a timer reads finished work, not queued launches."""
    import array_api_compat

    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        cupy.cuda.Device().synchronize()
