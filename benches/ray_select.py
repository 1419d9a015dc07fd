#!/usr/bin/env python3
"""Distributed selection on Ray against one process, on the same pool.

A pool of --rows rows x --classes classes (default 10M x 10, f32) is made
deterministically from row ids inside Ray tasks, in --shards blocks, and
materialised in the object store; the single process builds the same arrays
and calls coselect.select. Both rounds are timed: round 0 (FM only, EM prior
passes) and a later round (small model, every 500th row labeled, pseudo-
labels). Prints seconds, the ratio, whether the selections are identical,
and the bytes each shard shipped to the driver.

    pip install "./python[ray]" && python3 benches/ray_select.py [--rows 10000000 --shards 16]
"""
import argparse
import os
import platform
import time

import numpy as np
import ray

import coselect
import coselect.ray as cray


def make(ids, classes):
    """FM logits, small-model log-probabilities and labels of rows `ids`,
    a function of the id alone (so any sharding makes the same pool)."""
    ids = ids.astype(np.uint64)
    c = np.arange(classes, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = (ids[:, None] * np.uint64(0x9E3779B97F4A7C15)) ^ (c[None, :] * np.uint64(0xBF58476D1CE4E5B9))
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(29)
    u = (h >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    w = np.geomspace(1.0, 0.05, classes)
    cum = np.cumsum(w / w.sum())
    y = np.minimum(np.searchsorted(cum, u[:, 0]), classes - 1)
    fm = (u * 2.0).astype(np.float32)
    fm[np.arange(ids.size), y] += 2.0
    z = (3.0 * u[:, ::-1]).astype(np.float32)
    z[np.arange(ids.size), y] += 3.0
    z -= z.max(axis=1, keepdims=True)
    sm = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
    labels = np.where(ids % np.uint64(500) == 0, y, -1).astype(np.int64)
    return fm, sm, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--cpus", type=int, default=os.cpu_count())
    a = ap.parse_args()
    ray.init(num_cpus=a.cpus, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    ray.data.DataContext.get_current().enable_progress_bars = False

    def gen(batch):
        fm, sm, labels = make(batch["id"], a.classes)
        return {"id": batch["id"], "fm": fm, "sm": sm, "label": labels}

    ds = ray.data.range(a.rows, override_num_blocks=a.shards).map_batches(
        gen, batch_format="numpy", batch_size=a.rows // a.shards + 1).materialize()
    fm, sm, labels = make(np.arange(a.rows), a.classes)
    batch = a.rows // a.shards + 1
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Ray {ray.__version__} with {a.cpus} CPUs")
    print(f"pool {a.rows} x {a.classes} f32 in {a.shards} shards, k={a.k}")
    print(f"{'round':<28} {'1 process s':>12} {'Ray s':>8} {'ratio':>7} {'same':>5} "
          f"{'states':>6} {'B/state':>8} {'EM passes':>9} {'B/EM state':>10}")
    for name, use_sm in (("round 0 (FM, EM prior)", False), ("later (sm, labels, pseudo)", True)):
        t = time.perf_counter()
        one = coselect.select(fm, sm=sm if use_sm else None, labels=labels if use_sm else None, k=a.k)
        t_one = time.perf_counter() - t
        stats = {}
        t = time.perf_counter()
        dist = cray.select(ds, k=a.k, sm="sm" if use_sm else None, label="label" if use_sm else None,
                           batch_size=batch, stats=stats)
        t_ray = time.perf_counter() - t
        same = (dist.indices.tolist() == one.indices.tolist()
                and dist.pseudo_indices.tolist() == one.pseudo_indices.tolist())
        print(f"{name:<28} {t_one:>12.2f} {t_ray:>8.2f} {t_ray / t_one:>7.2f} {str(same):>5} "
              f"{stats['states']:>6} {stats['state_bytes']:>8} {stats['em_passes']:>9} {stats['prior_bytes']:>10}")
    print(f"input bytes per shard: {(fm.nbytes + sm.nbytes) // a.shards}")
    ray.shutdown()


if __name__ == "__main__":
    main()
