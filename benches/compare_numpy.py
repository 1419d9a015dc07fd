#!/usr/bin/env python3
"""`coselect select` against the same round written in numpy, plus a read-bandwidth probe.

Setup (once):
    python3 -m pip install numpy
    CARGO_TARGET_DIR=target cargo build --release -p coselect
    CARGO_TARGET_DIR=target cargo build --release -p coselect-cpu --example map_floor

Run:
    python3 benches/compare_numpy.py [--rows 1000000] [--classes 10] [--k 256] [--threads 2]
        [--bin target/release/coselect] [--repeat 3]

What it does, in one run:
1. Writes a pool to .npy files in a temporary folder: FM logits, small-model
   log-probabilities, and labels (10 per class, so every class is in boundary
   mode: the everyday round once a small model exists, with co-decision).
2. Runs `coselect select` on them and checks that the numpy version below
   selects exactly the same query indices, in the same order. The
   pseudo-labels are compared as sets: the numpy softmax rounds differently
   from the core's (np.exp vs the core's own f32 exp, division vs
   multiplication by the inverse), which can move a row across a threshold, so
   their agreement is printed rather than required.
3. Times both from files to result, best of --repeat: the coselect process
   (start, memory-mapped read, validation, scoring, selection, co-decision,
   JSON output) and numpy (np.load, the same validation and math). Prints
   the ratio.
4. Measures this machine's read bandwidth: numpy sums over a 1 GiB array on
   1 and on 2 threads (numpy releases the GIL in reductions); the higher is
   the memory-speed floor. Prints coselect's input throughput as a fraction
   of it.
5. Times the floor of the job's shape, when the `map_floor` example is built:
   a fresh process that maps fm.npy and sm.npy, reads every byte once on the
   same number of threads and exits (no validation, scoring or output), best
   of --repeat. Prints its time, its fraction of the floor above, and
   coselect's time as a multiple of it: what reading the input through mmap
   in a new process costs on this machine, which no selection can beat.

The numpy version takes the FM temperature a_t from coselect's output: it is
fitted on the 10 x C labeled rows (microseconds), not on the pool, so it is not
what is being compared.
"""

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def make_pool(rows, classes, seed=0):
    rng = np.random.default_rng(seed)
    fm = rng.uniform(-4, 4, size=(rows, classes)).astype(np.float32)
    z = fm + 0.5 * rng.uniform(-4, 4, size=(rows, classes)).astype(np.float32)
    sm = (z - np.log(np.exp(z.astype(np.float64)).sum(1, keepdims=True))).astype(np.float32)
    # 10 labels per class: the first rows the FM assigns to each class (annotators agree
    # with it there), so the temperature fit keeps the FM sharp and co-decision has work.
    labels = np.full(rows, -1, dtype=np.int64)
    top = fm.argmax(1)
    for c in range(classes):
        labels[np.nonzero(top == c)[0][:10]] = c
    return fm, sm, labels


def water_fill(counts, k):
    """Quotas q_c making counts + q as equal as possible, sum q = k; remainders to the
    classes with the fewest labels, then the lower index (DESIGN.md)."""
    counts = np.asarray(counts, dtype=np.int64)
    lo, hi = counts.min(), counts.min() + k + 1
    need = lambda level: np.maximum(level - counts, 0).sum()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if need(mid) <= k:
            lo = mid
        else:
            hi = mid
    q = np.maximum(lo - counts, 0)
    rest = k - q.sum()
    at_level = [c for c in np.lexsort((np.arange(len(counts)), counts)) if counts[c] + q[c] == lo]
    for c in at_level[:rest]:
        q[c] += 1
    return q


def top_by_score(s, rows, n):
    """The best n of `rows` (with scores `s`) by (score descending, index ascending),
    best first."""
    n = min(n, len(rows))
    part = np.argpartition(-s, n - 1)[:n]
    thr = s[part].min()
    strict = np.nonzero(s > thr)[0]
    ties = np.nonzero(s == thr)[0][: n - len(strict)]
    keep = np.concatenate([strict, ties])
    order = np.lexsort((rows[keep], -s[keep]))
    return rows[keep[order]], s[keep[order]]


def numpy_round(fm, sm, labels, k, a_t, seed_min=3, co_conf=0.8, co_floor=0.5, cap_factor=20):
    """The everyday round (every class in boundary mode) as a numpy user writes it."""
    classes = fm.shape[1]
    if not (np.isfinite(fm).all() and np.isfinite(sm).all()):
        raise ValueError("non-finite input")
    if (np.abs(np.exp(sm).sum(1) - 1) > 1e-3).any():
        raise ValueError("sm rows are not log-probabilities")
    counts = np.bincount(labels[labels >= 0], minlength=classes)
    assert (counts >= seed_min).all(), "this comparison covers boundary mode"
    unl = np.nonzero(labels == -1)[0]

    # Query scores: closeness to the small model's boundary of each class.
    part = np.partition(sm, classes - 2, axis=1)
    first, second = part[:, -1:], part[:, -2:-1]
    other = np.where(sm == first, second, first)
    scores = -np.abs(sm - other)

    # Best k per class, quotas, round-robin (fewest labels first, then index).
    lists = [top_by_score(scores[unl, c], unl, k) for c in range(classes)]
    quotas = water_fill(counts, k)
    order = sorted(range(classes), key=lambda c: (counts[c], c))
    cursor = [0] * classes
    taken, picks = set(), []
    while len(picks) < k:
        for c in order:
            if len(picks) == k:
                break
            if quotas[c] == 0:
                continue
            idx, sc = lists[c]
            while cursor[c] < len(idx):
                i = int(idx[cursor[c]])
                cursor[c] += 1
                if i not in taken:
                    taken.add(i)
                    picks.append((i, c, float(sc[cursor[c] - 1])))
                    quotas[c] -= 1
                    break

    # Co-decided pseudo-labels: FM (at temperature a_t) and small model agree.
    z = a_t * fm[unl]
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    pf = e / e.sum(1, keepdims=True)
    cf = pf.argmax(1)
    cs = sm[unl].argmax(1)
    agree = cf == cs
    conf = np.minimum(pf[np.arange(len(unl)), cf], np.exp(sm[unl, cs]))
    sigma = np.bincount(cf[agree & (conf >= co_conf)], minlength=classes)
    denom = max(sigma.max(), len(unl) - sigma.sum(), 1)
    beta = sigma / denom
    thresholds = np.maximum(co_conf * beta / (2 - beta), co_floor)
    cap = cap_factor * counts[counts > 0].min()
    pseudo = []
    for c in range(classes):
        m = agree & (cf == c) & (conf >= thresholds[c])
        rows = unl[m]
        if len(rows):
            best, _ = top_by_score(conf[m], rows, cap)
            pseudo.extend((int(i), c) for i in best)
    return picks, pseudo


def run_coselect(binary, d, k, threads):
    out = os.path.join(d, "picks.json")
    cmd = [binary, "select", "--fm", os.path.join(d, "fm.npy"), "--sm", os.path.join(d, "sm.npy"),
           "--labeled", os.path.join(d, "labels.npy"), "--k", str(k), "--threads", str(threads),
           "--out", out]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    secs = time.perf_counter() - t
    with open(out) as f:
        return json.load(f), secs


def map_floor(binary, d, threads):
    cmd = [binary, str(threads), os.path.join(d, "fm.npy"), os.path.join(d, "sm.npy")]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def bandwidth_probe(gib=1.0, repeat=5):
    a = np.ones(int(gib * (1 << 30)) // 4, dtype=np.float32)
    halves = np.array_split(a, 2)
    best1 = best2 = float("inf")
    with ThreadPoolExecutor(2) as pool:
        for _ in range(repeat):
            t = time.perf_counter()
            a.sum()
            best1 = min(best1, time.perf_counter() - t)
            t = time.perf_counter()
            list(pool.map(np.sum, halves))
            best2 = min(best2, time.perf_counter() - t)
    return a.nbytes / best1 / 1e9, a.nbytes / best2 / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(here, "..", "target", "release", "coselect"))
    ap.add_argument("--floor-bin", default=os.path.join(here, "..", "target", "release", "examples", "map_floor"))
    args = ap.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; numpy {np.__version__}")
    fm, sm, labels = make_pool(args.rows, args.classes)
    with tempfile.TemporaryDirectory() as d:
        for name, arr in (("fm", fm), ("sm", sm), ("labels", labels)):
            np.save(os.path.join(d, f"{name}.npy"), arr)
        input_bytes = fm.nbytes + sm.nbytes
        print(f"pool: {args.rows} x {args.classes}, k = {args.k}, input {input_bytes / 1e6:.0f} MB (fm + sm, float32)")

        doc, _ = run_coselect(args.bin, d, args.k, args.threads)
        a_t = np.float32(doc["temperature"])
        picks, pseudo = numpy_round(fm, sm, labels, args.k, a_t)
        rust_q = [q["index"] for q in doc["queries"]]
        np_q = [p[0] for p in picks]
        if rust_q != np_q:
            diff = sum(a != b for a, b in zip(rust_q, np_q))
            raise SystemExit(f"MISMATCH: {diff} of {args.k} query positions differ")
        print(f"check: numpy selects the same {args.k} query indices in the same order")
        rust_p = {(p["index"], p["class"]) for p in doc["pseudo_labels"]}
        np_p = set(pseudo)
        inter = len(rust_p & np_p)
        print(f"pseudo-labels: coselect {len(rust_p)}, numpy {len(np_p)}, in both {inter}")

        rust_t = min(run_coselect(args.bin, d, args.k, args.threads)[1] for _ in range(args.repeat))
        floor_t = None
        if os.path.exists(args.floor_bin):
            floor_t = min(map_floor(args.floor_bin, d, args.threads) for _ in range(args.repeat))
        np_t = float("inf")
        np_compute = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            f2 = np.load(os.path.join(d, "fm.npy"))
            s2 = np.load(os.path.join(d, "sm.npy"))
            l2 = np.load(os.path.join(d, "labels.npy"))
            t1 = time.perf_counter()
            numpy_round(f2, s2, l2, args.k, a_t)
            t2 = time.perf_counter()
            np_t = min(np_t, t2 - t)
            np_compute = min(np_compute, t2 - t1)
            del f2, s2, l2

    bw1, bw2 = bandwidth_probe()
    floor = max(bw1, bw2)
    rust_gbs = input_bytes / rust_t / 1e9
    print(f"coselect select ({args.threads} threads): {rust_t * 1e3:8.1f} ms  ({rust_gbs:.2f} GB/s of input)")
    print(f"numpy (load + compute):       {np_t * 1e3:8.1f} ms  (compute only {np_compute * 1e3:.1f} ms)")
    print(f"ratio numpy / coselect: {np_t / rust_t:.2f}x (compute-only numpy: {np_compute / rust_t:.2f}x)")
    print(f"read bandwidth (numpy sum of 1 GiB): 1 thread {bw1:.1f} GB/s, 2 threads {bw2:.1f} GB/s")
    print(f"coselect at {rust_gbs / floor:.3f} of the memory-speed floor ({floor:.1f} GB/s)")
    if floor_t is None:
        print(f"mapped-read floor: skipped ({args.floor_bin} not built; see Setup)")
    else:
        floor_gbs = input_bytes / floor_t / 1e9
        print(f"mapped-read floor (a process that maps fm.npy + sm.npy, reads them on {args.threads} threads, exits): "
              f"{floor_t * 1e3:.1f} ms ({floor_gbs:.2f} GB/s, {floor_gbs / floor:.3f} of the memory-speed floor); "
              f"coselect takes {rust_t / floor_t:.2f}x that")


if __name__ == "__main__":
    main()
