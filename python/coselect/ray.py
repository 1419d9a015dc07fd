"""Selection over a pool that lives in a Ray Dataset, where the data is.

    import coselect.ray
    sel = coselect.ray.select(ds, k=256, fm="fm", sm="sm", label="label", id="id")
    sel.indices          # the user's ids of the rows to annotate

The dataset holds one row per sample: the FM scores (a fixed-shape tensor
column of `classes` floats), optionally the small model's log-probabilities
(same shape), an id column (the user's ids, not positions) and optionally a
label column (-1 unlabeled, else the class). The selection equals what
:func:`coselect.select` (and ``coselect select``) makes on the whole pool
with positions replaced by ids, bit for bit:

1. the labeled rows (few) are collected on the driver, which fits the
   calibration and counts labels per class;
2. while some class has fewer than ``seed_min`` labels, the EM prior runs
   as passes of ``map_batches``: each batch pushes its rows into a copy of
   the driver's EM state and returns its bytes (O(classes)); the driver
   merges them and ends the pass;
3. one ``map_batches`` pass scores each batch's unlabeled rows into a
   selector state (O(classes x k) bytes, not O(rows)), which the driver
   merges and finishes.

Needs ``pip install ./python[ray]``. Ids must be distinct non-negative
integers below 2^64; the calibration reads the labeled rows in id order (as
one machine reads a pool in row order), so with ids equal to positions the
result is exactly the single-process one.
"""
from typing import Optional

import numpy as np

import coselect
from coselect import Calibration, Prior, Selection, Selector

__all__ = ["select"]


def _column(batch, name):
    a = np.asarray(batch[name])
    if a.dtype == object:
        # Ragged-typed columns arrive as arrays of arrays.
        a = np.stack(a)
    return a


def _prior_pass(state: bytes, fm: str, sm: Optional[str]):
    def run(batch):
        p = Prior.from_bytes(state)
        p.push(_column(batch, fm), None if sm is None else _column(batch, sm))
        return {"state": np.array([p.to_bytes()], dtype=object)}

    return run


def _score(template: bytes, fm: str, sm: Optional[str], id_col: str, label: Optional[str]):
    def run(batch):
        s = Selector.from_bytes(template)
        f = _column(batch, fm)
        m = None if sm is None else _column(batch, sm)
        ids = np.asarray(batch[id_col])
        if label is not None:
            free = np.asarray(batch[label]) < 0
            f, ids = f[free], ids[free]
            m = None if m is None else m[free]
        if ids.size:
            s.push(f, m, ids=ids.astype(np.uint64))
        return {"state": np.array([s.to_bytes()], dtype=object), "rows": np.array([ids.size])}

    return run


def _labeled(fm: str, sm: Optional[str], label: str, id_col: str):
    def run(batch):
        y = np.asarray(batch[label])
        keep = y >= 0
        out = {"fm": _column(batch, fm)[keep], "label": y[keep].astype(np.int64),
               "id": np.asarray(batch[id_col])[keep]}
        if sm is not None:
            out["sm"] = _column(batch, sm)[keep]
        return out

    return run


def select(ds, k: Optional[int] = None, *, cfg=None, fm: str = "fm", sm: Optional[str] = None,
           id: str = "id", label: Optional[str] = None, batch_size: int = 65536,
           stats: Optional[dict] = None) -> Selection:
    """The next batch to annotate from a Ray Dataset (see the module docs).

    `k` or `cfg` (:func:`coselect.config`) sets the budget; `fm`, `sm`,
    `id`, `label` name the columns; `batch_size` the rows per
    ``map_batches`` call. If `stats` is a dict it receives what was
    shipped: ``em_passes``, ``states`` and ``state_bytes`` (per selector
    state) and ``prior_bytes`` (per EM state).
    """
    first = ds.take(1)
    if not first:
        raise coselect.CoselectError(7, "the dataset is empty")
    classes = int(np.asarray(first[0][fm]).shape[-1])
    if cfg is None:
        if k is None:
            raise TypeError("give k or cfg")
        cfg = coselect.config(classes, k)

    # 1. Calibration and counts from the labeled rows, on the driver.
    counts = np.zeros(classes, dtype=np.uint32)
    calibration = Calibration(1.0, None)
    if label is not None:
        rows = ds.map_batches(_labeled(fm, sm, label, id), batch_format="numpy",
                              batch_size=batch_size).take_all()
        # The fits sum in row order: id order, as one machine reads the pool.
        rows.sort(key=lambda r: int(r["id"]))
        if rows:
            lf = np.stack([r["fm"] for r in rows]).astype(np.float32)
            ly = np.array([r["label"] for r in rows], dtype=np.int64)
            ls = None if sm is None else np.stack([r["sm"] for r in rows]).astype(np.float32)
            if ly.max() >= classes:
                raise coselect.CoselectError(6, f"label {ly.max()} is out of range for {classes} classes")
            counts = np.bincount(ly, minlength=classes).astype(np.uint32)
            calibration = coselect.fit_calibration(lf, ly, sm=ls, cfg=cfg)
    if sm is not None and calibration.fusion is None:
        # Round 0 with a small model: run_round fits fusion on no rows.
        calibration = coselect.fit_calibration(
            np.zeros((0, classes), np.float32), np.zeros(0, np.int64),
            sm=np.zeros((0, classes), np.float32), cfg=cfg)

    # 2. The EM prior, one map_batches pass per iteration.
    log_prior, passes, prior_bytes = None, 0, 0
    if (counts < cfg.seed_min).any():
        driver = Prior.new(cfg, calibration)
        done = False
        while not done:
            start = driver.to_bytes()
            states = ds.map_batches(_prior_pass(start, fm, sm), batch_format="numpy",
                                    batch_size=batch_size).take_all()
            for r in states:
                prior_bytes = max(prior_bytes, len(r["state"]))
                driver.merge(Prior.from_bytes(r["state"]))
            done = driver.end_pass()
            passes += 1
        log_prior = driver.log_prior(classes)

    # 3. Score every batch's unlabeled rows; merge the states; finish.
    template = Selector.new(cfg, counts, calibration, log_prior).to_bytes()
    states = ds.map_batches(_score(template, fm, sm, id, label), batch_format="numpy",
                            batch_size=batch_size).take_all()
    merged = Selector.from_bytes(template)
    for r in states:
        merged.merge(Selector.from_bytes(r["state"]))
    if stats is not None:
        stats.update(em_passes=passes, states=len(states), prior_bytes=prior_bytes,
                     state_bytes=max((len(r["state"]) for r in states), default=0))
    sel = merged.finish()
    return Selection(**{**sel.__dict__, "calibration": calibration})
