#!/usr/bin/env python3
"""PyTorch reference of coselect's round on the GPU, for gpu-check.sh.

The same math as coselect-core, written the way a PyTorch user would:
seed scores softmax(a*fm + b*sm - log_prior), boundary scores
-|L[c] - max_{c'!=c} L[c']|, per-class top-k under the tie rule (higher
score, then lower index, through int64 composite keys), water-filled quotas
and the round-robin, co-decision candidacy with FlexMatch thresholds and the
per-class cap.

1. Loads the 1M-row pool gpu_bench left in --dir, selects, and checks that
   the indices equal coselect-cuda's (selection.json).
2. Times the same round on pools of --rows rows (CUDA events, warm-up,
   median), and prints one table with gpu_bench's times (rust_times.jsonl).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch


def water_fill(counts, k):
    # coselect_core::quota::water_fill
    lo, hi = min(counts), min(counts) + k + 1
    need = lambda level: sum(max(level - n, 0) for n in counts)
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if need(mid) <= k:
            lo = mid
        else:
            hi = mid
    q = [max(lo - n, 0) for n in counts]
    rest = k - need(lo)
    while rest > 0:
        pick = None
        for c, n in enumerate(counts):
            if n + q[c] == lo and (pick is None or n < counts[pick]):
                pick = c
        q[pick] += 1
        rest -= 1
    return q


def composite(scores, idx):
    """int64 keys ordering by score, then lower index (scores: float32)."""
    s = scores + 0.0
    bits = s.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    key = torch.where(bits >= 0x80000000, (~bits) & 0xFFFFFFFF, bits | 0x80000000)
    high = (key - 0x80000000) << 32  # signed, order-preserving
    return high | (0xFFFFFFFF - idx)


def select(fm, sm, p):
    n, C = fm.shape
    k, counts, seed_min = p["k"], p["counts"], p["seed_min"]
    lp = torch.tensor(p["log_prior"], device=fm.device, dtype=torch.float32)
    z = p["a"] * fm + p["b"] * sm - lp
    seed = torch.softmax(z, dim=1)
    top2 = torch.topk(sm, 2, dim=1).values
    first, second = top2[:, :1], top2[:, 1:]
    other = torch.where(sm == first, second, first)
    boundary = -(sm - other).abs()
    is_boundary = torch.tensor([n >= seed_min for n in counts], device=fm.device)
    scores = torch.where(is_boundary, boundary, seed).T.contiguous()
    # 100M x 10 must fit next to the int64 keys on an 80 GB card.
    del z, seed, top2, first, second, other, boundary
    idx = torch.arange(n, device=fm.device, dtype=torch.int64)
    keys = composite(scores, idx[None, :])
    del scores
    best = torch.topk(keys, min(k, n), dim=1, sorted=True).indices.cpu().tolist()
    quotas = water_fill(counts, k)
    order = sorted(range(C), key=lambda c: (counts[c], c))
    cursor, taken, picks = [0] * C, set(), []
    while len(picks) < k:
        for c in order:
            if len(picks) == k:
                break
            if quotas[c] == 0:
                continue
            while cursor[c] < len(best[c]):
                i = best[c][cursor[c]]
                cursor[c] += 1
                if i not in taken:
                    taken.add(i)
                    picks.append((i, c))
                    quotas[c] -= 1
                    break
    # Co-decision.
    pseudo = []
    humans = [m for m in counts if m > 0]
    if humans:
        pf = torch.softmax(p["temperature"] * fm, dim=1)
        conf_f, cf = pf.max(dim=1)
        ls, cs = sm.max(dim=1)
        agree = cf == cs
        conf = torch.minimum(conf_f, ls.exp())
        # The core's thresholds are f32 values widened to f64.
        co_conf, co_floor = float(np.float32(p["co_confidence"])), float(np.float32(p["co_floor"]))
        cand = agree & (conf >= co_floor)
        sigma = torch.bincount(cf[agree & (conf >= co_conf)], minlength=C).tolist()
        denom = max(max(sigma), n - sum(sigma), 1)
        cap = min(humans) * p["cap_factor"]
        for c in range(C):
            beta = sigma[c] / denom
            t = max(float(np.float32(co_conf * beta / (2 - beta))), co_floor)
            rows = torch.nonzero(cand & (cf == c)).flatten()
            if rows.numel() == 0 or cap == 0:
                continue
            ck = composite(conf[rows], rows)
            top = torch.topk(ck, min(cap, rows.numel()), sorted=True).indices
            for i, v in zip(rows[top].tolist(), conf[rows[top]].tolist()):
                if v < t:
                    break
                pseudo.append((i, c))
    return picks, pseudo


def timed(fn, iters):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(3):
        fn()
    times = []
    for _ in range(iters):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="target/gpu-check")
    ap.add_argument("--rows", default="1000000,100000000")
    ap.add_argument("--iters", type=int, default=10)
    a = ap.parse_args()
    dev = torch.device("cuda")
    ref = json.load(open(os.path.join(a.dir, "selection.json")))
    fm = torch.from_numpy(np.load(os.path.join(a.dir, "fm.npy"))).to(dev)
    sm = torch.from_numpy(np.load(os.path.join(a.dir, "sm.npy"))).to(dev)
    picks, pseudo = select(fm, sm, ref)
    same_q = [list(x) for x in picks] == ref["queries"]
    same_p = [list(x) for x in pseudo] == ref["pseudo_labels"]
    print(f"PyTorch vs coselect-cuda on {fm.shape[0]} x {fm.shape[1]}: "
          f"queries {'identical' if same_q else 'DIFFER'} ({len(picks)}), "
          f"pseudo-labels {'identical' if same_p else 'DIFFER'} ({len(pseudo)})")
    if not same_q:
        diff = [(x, y) for x, y in zip([list(p) for p in picks], ref["queries"]) if x != y][:5]
        print(f"  first differences (torch, coselect): {diff}")
    C = fm.shape[1]
    del fm, sm
    rust = {}
    for line in open(os.path.join(a.dir, "rust_times.jsonl")):
        r = json.loads(line)
        rust[r["rows"]] = r
    g = torch.Generator(device=dev).manual_seed(7)
    rows_torch = {}
    for n in [int(x) for x in a.rows.split(",")]:
        fm = torch.rand(n, C, device=dev, generator=g) * 2
        sm = torch.log_softmax(torch.rand(n, C, device=dev, generator=g) * 3, dim=1)
        rows_torch[n] = timed(lambda: select(fm, sm, ref), a.iters)
        del fm, sm
        torch.cuda.empty_cache()
    name = torch.cuda.get_device_name(0)
    out = [f"Card: {name}; f32 inputs (FM + small model), k = {ref['k']}, "
           f"{sum(1 for n in ref['counts'] if n >= ref['seed_min'])} of {C} classes in boundary mode, co-decision on.",
           "",
           "| rows x classes | input MB | copy GB/s | floor ms | coselect-cuda ms | x floor | PyTorch ms | speed-up |",
           "|---|---|---|---|---|---|---|---|"]
    for n in sorted(rows_torch):
        r = rust.get(n)
        if r is None:
            continue
        out.append(f"| {n} x {C} | {r['bytes_read'] / 1e6:.0f} | {r['copy_gbps']:.0f} | {r['copy_ms']:.3f} | "
                   f"{r['median_ms']:.3f} | {r['median_ms'] / r['copy_ms']:.2f} | {rows_torch[n]:.3f} | "
                   f"{rows_torch[n] / r['median_ms']:.1f}x |")
    out.append("")
    out.append(f"PyTorch selects the same indices as coselect-cuda (1M x {C}): queries {same_q}, pseudo-labels {same_p}.")
    table = "\n".join(out)
    print(table)
    open(os.path.join(a.dir, "table.md"), "w").write(table + "\n")
    return 0 if same_q and same_p else 1


if __name__ == "__main__":
    sys.exit(main())
