"""CI stage "gpu-emulation": every chapter on an emulated GPU at smoke scale.

Executes each chapter of the book with ``EICORE_BACKEND=strict`` (arrays on
``array_api_strict``'s ``device1``, which refuses implicit conversion to NumPy and mixing
with host arrays, as CuPy does) and ``EICORE_SCALE=smoke`` (tiny protocols), skipping the
cells tagged ``checks`` (the paper's claims need not hold at smoke scale). Any exception
fails the stage; the report names the chapter, the cell and the error. Then runs one task
of one experiment per part through ``eicore run`` on the same backend.

    python .ci/gpu_emulation.py [CHAPTER.ipynb ...]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def chapters(args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve() for a in args]
    return sorted(p for p in (ROOT / "book").glob("*/*.ipynb") if "_build" not in p.parts)


def run_chapter(path: Path, timeout: int) -> tuple[bool, str, float]:
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "checks" not in c.get("metadata", {}).get("tags", [])]
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        cell = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                     and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                    None)
        first = nb.cells[cell].source.strip().splitlines()[0][:80] if cell is not None else "?"
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # no terminal colours in the log
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        return False, f"cell {cell} ({first!r}): {lines[-1] if lines else exc}", \
            time.perf_counter() - t0
    except Exception as exc:  # kernel died, timeout, ...
        return False, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0
    return True, "ok", time.perf_counter() - t0


def main(argv: list[str]) -> int:
    os.environ["EICORE_BACKEND"] = "strict"
    os.environ["EICORE_SCALE"] = "smoke"
    os.environ["EICORE_PROGRESS"] = "0"
    os.environ.setdefault("EICORE_CACHE", tempfile.mkdtemp(prefix="eicore-strict-"))
    timeout = int(os.environ.get("EICORE_SMOKE_TIMEOUT", "600"))
    failed = 0
    rows = []
    for path in chapters(argv):
        ok, why, secs = run_chapter(path, timeout)
        failed += not ok
        rel = path.relative_to(ROOT)
        rows.append((rel, ok, why, secs))
        print(f"{'ok  ' if ok else 'FAIL'} {secs:6.1f} s  {rel}" + ("" if ok else f"\n     {why}"),
              flush=True)
    if not argv:
        store = tempfile.mkdtemp(prefix="eicore-strict-store-")
        default = "assemblies.train_local dendritic.fig4b_bars disinhibition.table1"
        for name in os.environ.get("EICORE_SMOKE_EXPERIMENTS", default).split():
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-m", "eicore", "run", name, "--scale", "smoke",
                                  "--backend", "strict", "--store", store, "--no-progress",
                                  "--batch", "2", "--max-tasks", "1"],
                                 capture_output=True, text=True)
            ok = res.returncode == 0
            failed += not ok
            msg = "" if ok else "\n     " + (res.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{'ok  ' if ok else 'FAIL'} {time.perf_counter() - t0:6.1f} s  eicore run "
                  f"{name} (one task){msg}", flush=True)
    print(f"gpu-emulation: {len(rows) - sum(not r[1] for r in rows)} of {len(rows)} chapters ran "
          f"on EICORE_BACKEND=strict at smoke scale; {failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
