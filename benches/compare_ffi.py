#!/usr/bin/env python3
"""The overhead of calling coselect through the C ABI and through Python,
against the Rust call, on one pool (default 1M x 10, f32, with a small model
and labels): one command, medians of repeated rounds, ratios printed.

    pip install ./python && python3 benches/compare_ffi.py [--rows 1000000] [--classes 10]
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import coselect

ROOT = Path(__file__).resolve().parents[1]


def pool(rows, classes, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, size=rows, p=np.geomspace(1, 0.05, classes) / np.geomspace(1, 0.05, classes).sum())
    fm = rng.normal(0, 1, (rows, classes)).astype(np.float32)
    fm[np.arange(rows), y] += 2
    z = rng.normal(0, 1.5, (rows, classes)).astype(np.float32)
    z[np.arange(rows), y] += 3
    z -= z.max(axis=1, keepdims=True)
    sm = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
    labels = np.full(rows, -1, dtype=np.int64)
    labels[::500] = y[::500]
    return fm, sm, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    fm, sm, labels = pool(a.rows, a.classes)
    with tempfile.TemporaryDirectory() as d:
        for name, arr in (("fm", fm), ("sm", sm), ("labels", labels)):
            np.save(os.path.join(d, f"{name}.npy"), arr)
        subprocess.run(["cargo", "build", "-q", "--release", "-p", "coselect-ffi", "--example", "overhead"],
                       cwd=ROOT, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        out = subprocess.run(
            [str(target / "release/examples/overhead"), f"{d}/fm.npy", f"{d}/sm.npy", f"{d}/labels.npy",
             str(a.k), str(a.threads), str(a.repeat)],
            check=True, capture_output=True, text=True,
        ).stdout
    vals = dict(line.split(" ", 1) for line in out.strip().splitlines())
    rust, cabi = float(vals["rust_s"]), float(vals["c_abi_s"])
    times, sel = [], None
    for _ in range(a.repeat):
        t = time.perf_counter()
        sel = coselect.select(fm, sm=sm, labels=labels, k=a.k, threads=a.threads)
        times.append(time.perf_counter() - t)
    py = sorted(times)[len(times) // 2]
    same = str(sel.indices[: min(8, a.k)].tolist()).replace(" ", "") == vals["first_ids"].replace(" ", "")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"pool {a.rows} x {a.classes} f32 + small model, k={a.k}, threads={a.threads}, median of {a.repeat}")
    print(f"{'path':<10} {'seconds':>10} {'vs Rust':>8}")
    for name, t in (("Rust", rust), ("C ABI", cabi), ("Python", py)):
        print(f"{name:<10} {t:>10.4f} {t / rust:>8.3f}")
    print(f"same first picks in Python as in Rust: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
