"""Seed audit: re-execute experiment chapters with every seed shifted, and report each check.

Usage::

    EICORE_DATA=../shared/data python scripts/seed_audit.py --offsets 0 1 2 \\
        [--chapters 'book/assemblies/0[3-7]*.ipynb'] [--timeout 3600] [--json out.json]

For each offset ``k`` the chapters run (in a fresh kernel each, on one fresh result cache
per offset, so chapters of one part share their experiments) with ``EICORE_SEED_OFFSET=k``:
every registered experiment adds ``k`` to the values of its ``seed`` axis (see
CONTRIBUTING.md), so the whole book runs on other networks and other stimulus draws.
The stored chapters are not touched: executed copies are thrown away.

The chapter's checks cells (the code cells tagged ``checks``; else its last code cell with
an ``assert``) are rewritten so that each top-level statement holding an ``assert`` is
checked on its own: a failing claim is recorded and the next one still runs. The script prints per
chapter and offset whether the chapter ran up to its checks (else the first error) and
which checks held, and exits 1 if any did not.
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "__SEED_AUDIT__"


def checks_cells(nb) -> list[int]:
    """The chapter's checks cells: every code cell tagged ``checks`` (a chapter may check
    its ci run and, in its paper-scale section, the committed full-scale run); else its
    last code cell with an ``assert``."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    tagged = [i for i in code if "checks" in nb.cells[i].metadata.get("tags", [])]
    if tagged:
        return tagged
    asserting = [i for i in code if "assert " in nb.cells[i].source]
    return asserting[-1:]


def _has_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def instrument(source: str) -> str:
    """The checks cell with every top-level statement that asserts wrapped in try/except."""
    tree = ast.parse(source)
    lines = source.splitlines()
    out = ["import json as _json", "_audit = []"]
    for node in tree.body:
        seg = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if not _has_assert(node):
            out.append(seg)
            continue
        label = " ".join(seg.split())[:90]
        body = "\n".join("    " + ln for ln in seg.splitlines())
        out += [
            "try:",
            body,
            f"    _audit.append(({label!r}, True, ''))",
            "except AssertionError as _e:",
            f"    _audit.append(({label!r}, False, str(_e)[:160]))",
        ]
    out.append(f"print({MARK!r} + _json.dumps(_audit))")
    return "\n".join(out)


def audit(path: Path, offset: int, cache: str, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    ks = checks_cells(nb)
    for k in ks:
        nb.cells[k].source = instrument(nb.cells[k].source)
    last = ks[-1] if ks else len(nb.cells) - 1  # no checks: run the whole chapter
    nb.cells = nb.cells[: last + 1]
    env = dict(EICORE_SEED_OFFSET=str(offset), EICORE_CACHE=cache, EICORE_PROGRESS="0")
    old = {v: os.environ.get(v) for v in env}
    os.environ.update(env)
    t0 = time.time()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val
    res = dict(ran=True, checks=[], error="", seconds=round(time.time() - t0))
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                # failed assertions of the checks are recorded as checks, never raised
                res["ran"] = False
                res["error"] = res["error"] or f"cell {i}: {o['ename']}: {o['evalue'][:200]}"
            if o.get("output_type") == "stream" and MARK in o.get("text", ""):
                for ln in o["text"].splitlines():
                    if ln.startswith(MARK):
                        res["checks"] += json.loads(ln[len(MARK):])
    return res


def _write(path: Path, old: list[dict], new: list[dict]) -> None:
    """``old`` runs updated with ``new`` ones (by chapter and offset), with the commit and
    date of this audit, written atomically."""
    import subprocess

    done = {(r["chapter"], r["offset"]) for r in new}
    runs = [r for r in old if (r["chapter"], r["offset"]) not in done] + new
    runs.sort(key=lambda r: (r["chapter"], r["offset"]))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    doc = dict(commit=commit, date=time.strftime("%Y-%m-%d"), runs=runs)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--offsets", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--chapters", nargs="+", default=["book/*/0*.ipynb"],
                    help="globs of chapters (default: every numbered chapter)")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--json", help="add the results to this file (a chapter and offset audited "
                    "again replace the older result); book/appendix/seed_audit.json is the "
                    "one the reproducibility appendix shows")
    ap.add_argument("--cache", help="one result cache for every offset (default: a fresh one "
                    "per offset); runs are stored by seed, so offsets that share seeds share "
                    "their runs")
    a = ap.parse_args(argv)
    paths = sorted({Path(p) for g in a.chapters for p in glob.glob(g)})
    table, ok = [], True
    out = Path(a.json) if a.json else None
    old = json.loads(out.read_text())["runs"] if out and out.exists() else []
    for off in a.offsets:
        with tempfile.TemporaryDirectory(prefix=f"seed_audit_{off}_") as tmp:
            cache = a.cache or tmp
            for p in paths:
                r = audit(p, off, cache, a.timeout)
                held = sum(c[1] for c in r["checks"])
                ok &= r["ran"] and held == len(r["checks"])
                table.append(dict(chapter=str(p), offset=off, **r))
                print(f"{p}  offset {off}: {'ran' if r['ran'] else 'FAILED'}"
                      f" ({r.get('seconds', 0)} s), checks held {held}/{len(r['checks'])}"
                      + (f"  [{r['error']}]" if r["error"] else ""), flush=True)
                for label, good, msg in r["checks"]:
                    if not good:
                        print(f"    FAIL: {label}\n          {msg}", flush=True)
                if out:  # after every chapter: an interrupted audit keeps what it found
                    _write(out, old, table)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
