"""Size table for tfshrink shrink: before, after, percent saved and bytes saved
per pass, for every committed fixture and every shared real model.
Uses only the tfshrink binary (shrink --dry-run --json); no TensorFlow.

Usage: python3 bench/size_table.py [--bin build/tfshrink] [--markdown] [DIR ...]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def model_dirs(extra):
    if extra:
        return [Path(d) for d in extra]
    dirs = sorted(p for p in (REPO / "tests" / "fixtures" / "models").iterdir() if p.is_dir())
    real = REPO.parent / "shared" / "realmodels"
    if real.is_dir():
        dirs += sorted(p for p in real.iterdir() if p.is_dir())
    return dirs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build" / "tfshrink"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("dirs", nargs="*")
    a = ap.parse_args()
    rows, passes, failures = [], [], []
    for d in model_dirs(a.dirs):
        r = subprocess.run([a.bin, "shrink", "--dry-run", "--json", str(d)], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append((d.name, r.stderr.strip()))
            continue
        j = json.loads(r.stdout)
        if not passes:
            passes = [p["name"] for p in j["passes"]]
        saved = {p["name"]: p["bytes_saved"] for p in j["passes"]}
        rows.append((d.name, j["input_bytes"], j["output_bytes"], saved))
    tot_in = sum(r[1] for r in rows)
    tot_out = sum(r[2] for r in rows)
    short = {p: p.replace("training-state", "train").replace("default-attrs", "attrs") for p in passes}
    if a.markdown:
        print("| model | before | after | saved | " + " | ".join(short[p] for p in passes) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(passes))
        for name, b, af, s in rows:
            pct = 100.0 * (b - af) / b if b else 0.0
            print(f"| {name} | {b} | {af} | {pct:.1f}% | " + " | ".join(str(s.get(p, 0)) for p in passes) + " |")
        print(f"| **total** | {tot_in} | {tot_out} | {100.0 * (tot_in - tot_out) / tot_in:.1f}% |" + " |" * len(passes))
    else:
        w = max(len(r[0]) for r in rows) if rows else 10
        print(f"{'MODEL':<{w}} {'BEFORE':>10} {'AFTER':>10} {'SAVED':>7}  " + " ".join(f"{short[p]:>9}" for p in passes))
        for name, b, af, s in rows:
            pct = 100.0 * (b - af) / b if b else 0.0
            print(f"{name:<{w}} {b:>10} {af:>10} {pct:>6.1f}%  " + " ".join(f"{s.get(p, 0):>9}" for p in passes))
        print(f"{'total':<{w}} {tot_in:>10} {tot_out:>10} {100.0 * (tot_in - tot_out) / tot_in:>6.1f}%")
    for name, err in failures:
        print(f"FAILED {name}: {err}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
