"""Compare the numbers two executions of the book's chapters print.

Usage: ``python benchmarks/compare_outputs.py EXECUTED_DIR [--rtol 1e-3] [--atol 1e-6]``

For every chapter ``book/<part>/<name>.ipynb`` that has an executed copy
``EXECUTED_DIR/<part>/<name>.ipynb`` (e.g. made on a GPU with ``EICORE_BACKEND=cupy``), the
text outputs of each code cell (streams and ``text/plain`` results; cells tagged
``nbval-ignore-output`` are skipped, as nbval skips them) are split into words and numbers.
Words must be equal; numbers must agree within ``rtol``/``atol`` (a GPU sums in another
order, so float32 results differ in their last digits; the stored outputs are rounded for
printing already). Prints one line per chapter and the differing numbers, and exits
non-zero if any chapter differs.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


def cell_texts(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            out.append(None)
            continue
        parts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                parts.append(o.get("text", ""))
            elif o.get("output_type") in ("execute_result", "display_data"):
                text = o.get("data", {}).get("text/plain", "")
                if not text.startswith("<Figure"):
                    parts.append(text)
        out.append("".join(parts))
    return out


def compare(a: str, b: str, rtol: float, atol: float) -> list[str]:
    ta, tb = NUMBER.split(a), NUMBER.split(b)
    na, nb_ = NUMBER.findall(a), NUMBER.findall(b)
    if [w.split() for w in ta] != [w.split() for w in tb] or len(na) != len(nb_):
        return [f"text differs: {a.strip()[:80]!r} vs {b.strip()[:80]!r}"]
    bad = []
    for x, y in zip(na, nb_):
        fx, fy = float(x), float(y)
        if math.isnan(fx) and math.isnan(fy):
            continue
        if not math.isclose(fx, fy, rel_tol=rtol, abs_tol=atol):
            bad.append(f"{x} vs {y}")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("executed", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-6)
    args = ap.parse_args()
    differing = 0
    for stored_path in sorted((ROOT / "book").glob("*/*.ipynb")):
        rel = stored_path.relative_to(ROOT / "book")
        run_path = args.executed / rel
        if not run_path.exists():
            continue
        stored = cell_texts(nbformat.read(stored_path, as_version=4))
        ran = cell_texts(nbformat.read(run_path, as_version=4))
        problems = []
        for i, (a, b) in enumerate(zip(stored, ran)):
            if a is None or b is None:
                continue
            problems += [f"cell {i}: {p}" for p in compare(a, b, args.rtol, args.atol)]
        if len(stored) != len(ran):
            problems.append(f"{len(stored)} code cells stored, {len(ran)} executed")
        differing += bool(problems)
        print(f"{'same' if not problems else 'DIFF'}  {rel}")
        for p in problems[:10]:
            print(f"      {p}")
    print(f"{differing} chapter(s) differ beyond rtol={args.rtol}, atol={args.atol}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
