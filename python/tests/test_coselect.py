"""The Python package over the C ABI: results, zero-copy input, errors, and
parity with the `coselect select` command on the same arrays."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import coselect
from coselect import CoselectError

ROOT = Path(__file__).resolve().parents[2]


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def imbalanced_pool(rows=4000, classes=6, seed=0, label_every=25):
    """An imbalanced pool whose FM is informative and whose small model
    mostly agrees with the truth; every `label_every`-th row labeled."""
    rng = np.random.default_rng(seed)
    prior = np.geomspace(1.0, 0.05, classes)
    y = rng.choice(classes, size=rows, p=prior / prior.sum())
    fm = rng.normal(0.0, 1.0, (rows, classes)).astype(np.float32)
    fm[np.arange(rows), y] += 2.0
    sm = log_softmax(1.5 * rng.normal(0.0, 1.0, (rows, classes)) + 3.0 * np.eye(classes)[y])
    labels = np.full(rows, -1, dtype=np.int64)
    labels[::label_every] = y[::label_every]
    return fm, sm.astype(np.float32), labels


def test_version_and_abi():
    assert coselect.version() == "0.1.0"


def test_round_zero_seeds_every_class():
    fm = np.array([[4, 0, 0], [0, 4, 0], [3.5, 0.5, 0], [0, 0, 4], [3, 1, 0]], dtype=np.float32)
    sel = coselect.select(fm, k=3)
    assert sorted(sel.classes.tolist()) == [0, 1, 2]
    assert set(sel.reasons.tolist()) == {"seed"}
    assert sel.pseudo_indices.size == 0


def cli_binary():
    env = os.environ.get("COSELECT_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "coselect"
        if p.exists():
            return str(p)
    if os.environ.get("COSELECT_REQUIRE_CLI"):
        pytest.fail("COSELECT_REQUIRE_CLI is set but no coselect binary was found")
    pytest.skip("no coselect binary: build it with `cargo build -p coselect` or set COSELECT_BIN")


@pytest.mark.parametrize("with_sm", [False, True])
def test_parity_with_coselect_select(tmp_path, with_sm):
    fm, sm, labels = imbalanced_pool()
    if not with_sm:
        # Without a small model no class may reach seed_min labels.
        first = [np.flatnonzero(labels == c)[:1] for c in range(fm.shape[1])]
        keep = np.concatenate(first)
        labels = np.full_like(labels, -1)
        labels[keep] = np.arange(fm.shape[1])[[c for c in range(fm.shape[1]) if first[c].size]]
        assert np.bincount(labels[labels >= 0]).max() == 1
    np.save(tmp_path / "fm.npy", fm)
    np.save(tmp_path / "sm.npy", sm)
    np.save(tmp_path / "labels.npy", labels)
    cmd = [cli_binary(), "select", "--fm", str(tmp_path / "fm.npy"), "--labeled",
           str(tmp_path / "labels.npy"), "--k", "24", "--out", str(tmp_path / "picks.json")]
    if with_sm:
        cmd += ["--sm", str(tmp_path / "sm.npy")]
    subprocess.run(cmd, check=True, capture_output=True)
    doc = json.loads((tmp_path / "picks.json").read_text())
    sel = coselect.select(fm, sm=sm if with_sm else None, labels=labels, k=24, threads=2)
    assert [q["index"] for q in doc["queries"]] == sel.indices.tolist()
    assert [q["class"] for q in doc["queries"]] == sel.classes.tolist()
    assert [q["why"] for q in doc["queries"]] == sel.reasons.tolist()
    # The JSON prints each f32 score in its shortest exact form.
    assert np.array_equal(np.array([q["score"] for q in doc["queries"]], dtype=np.float32), sel.scores)
    assert [p["index"] for p in doc["pseudo_labels"]] == sel.pseudo_indices.tolist()
    assert [p["class"] for p in doc["pseudo_labels"]] == sel.pseudo_classes.tolist()
    assert (len(doc["pseudo_labels"]) > 0) == with_sm
    assert np.float32(doc["temperature"]) == np.float32(sel.calibration.temperature)


def test_float32_rows_are_read_in_place():
    from coselect import _matrix

    a = np.zeros((100, 5), dtype=np.float32)
    m, keep = _matrix("fm", a)
    assert keep is a and m.data == a.ctypes.data and m.row_stride == 5
    # Every other row of a larger array: a row stride, still no copy.
    b = np.zeros((200, 8), dtype=np.float32)[::2, :5]
    m, keep = _matrix("fm", b)
    assert keep is b and m.row_stride == 16
    # float64 or column-strided input is converted once.
    m, keep = _matrix("fm", np.zeros((10, 5)))
    assert keep.dtype == np.float32
    m, keep = _matrix("fm", np.zeros((10, 10), dtype=np.float32)[:, ::2])
    assert keep.flags.c_contiguous


def test_row_strided_input_selects_like_its_copy():
    fm, sm, labels = imbalanced_pool(rows=600)
    wide = np.zeros((600, 10), dtype=np.float32)
    wide[:, :6] = fm
    a = coselect.select(wide[:, :6], k=12)
    b = coselect.select(np.ascontiguousarray(fm), k=12)
    assert a.indices.tolist() == b.indices.tolist()


def test_errors_carry_status_and_message():
    fm, sm, labels = imbalanced_pool(rows=300)
    bad = fm.copy()
    bad[17, 3] = np.nan
    with pytest.raises(CoselectError) as e:
        coselect.select(bad, k=4)
    assert e.value.name == "COSELECT_NON_FINITE" and "row 17, col 3" in str(e.value)
    bad[17, 3] = np.inf
    with pytest.raises(CoselectError, match="COSELECT_NON_FINITE"):
        coselect.select(bad, k=4)
    with pytest.raises(CoselectError, match="COSELECT_SHAPE_MISMATCH"):
        coselect.select(fm, sm=sm[:-1], labels=labels, k=4)
    with pytest.raises(CoselectError, match="COSELECT_NOT_NORMALIZED"):
        coselect.select(fm, sm=fm, labels=labels, k=4)
    with pytest.raises(CoselectError, match="COSELECT_BUDGET_EXCEEDS_POOL"):
        coselect.select(fm, k=301)
    with pytest.raises(CoselectError, match="COSELECT_INVALID_ARGUMENT"):
        coselect.select(fm, cfg=coselect.config(6, 4, co_floor=2.0))
    out_of_range = labels.copy()
    out_of_range[5] = 6
    with pytest.raises(CoselectError, match="COSELECT_LABEL_OUT_OF_RANGE"):
        coselect.select(fm, sm=sm, labels=out_of_range, k=4)
    with pytest.raises(CoselectError, match="COSELECT_MISSING_SMALL_MODEL"):
        coselect.select(fm, labels=labels, k=4)
    with pytest.raises(CoselectError, match="COSELECT_CORRUPT"):
        coselect.Selector.from_bytes(b"\x01garbage-bytes")
    with pytest.raises(ValueError):
        coselect.select(fm[0], k=1)
    with pytest.raises(TypeError):
        coselect.config(6, 4, no_such_field=1)


def test_sharded_selector_equals_select():
    fm, sm, labels = imbalanced_pool(rows=3000, seed=3)
    whole = coselect.select(fm, sm=sm, labels=labels, k=30)
    template = coselect.Selector.from_pool(fm, sm, labels, k=30).to_bytes()
    ids = np.flatnonzero(labels < 0)
    rng = np.random.default_rng(1)
    shards = np.array_split(rng.permutation(ids), 5)
    states = []
    for part in shards:
        s = coselect.Selector.from_bytes(template)
        for batch in np.array_split(part, 3):
            s.push(fm[batch], sm[batch], ids=batch)
        states.append(s.to_bytes())
    merged = coselect.Selector.from_bytes(states[0])
    for b in reversed(states[1:]):
        merged.merge(coselect.Selector.from_bytes(b))
    assert merged.rows == ids.size
    got = merged.finish()
    assert got.indices.tolist() == whole.indices.tolist()
    assert got.pseudo_indices.tolist() == whole.pseudo_indices.tolist()
    # Bytes per shard are O(classes x (k + pseudo cap)), whatever its rows:
    # the same for a shard of 500 rows as for one of 50,000 would be.
    sizes = [len(b) for b in states]
    assert max(sizes) <= 6 * (30 + 20 * 4) * 14 + 200, sizes
    with pytest.raises(CoselectError, match="COSELECT_FINISHED"):
        merged.push(fm[:1], sm[:1], ids=[0])


def test_calibration_and_label_trust():
    fm, sm, labels = imbalanced_pool(rows=2000, seed=5, label_every=10)
    rows = np.flatnonzero(labels >= 0)
    cal = coselect.fit_calibration(fm[rows], labels[rows], sm=sm[rows])
    assert cal.fusion is not None and cal.temperature > 0
    assert coselect.select(fm, sm=sm, labels=labels, k=8).calibration == cal
    noisy = labels[rows].copy()
    flip = np.arange(0, rows.size, 7)
    noisy[flip] = (noisy[flip] + 1) % fm.shape[1]
    v = coselect.judge_labels(fm[rows], sm[rows], noisy, cal)
    flagged = np.flatnonzero(v["suspect"])
    # Most flagged labels are the flipped ones.
    assert flagged.size > 0 and np.isin(flagged, flip).mean() > 0.8


class FakeDeviceArray:
    """Stands in for a CUDA tensor: the interface without a device."""

    def __init__(self, rows, cols):
        self.__cuda_array_interface__ = {
            "shape": (rows, cols), "typestr": "<f4", "data": (0xDEAD0000, False),
            "strides": None, "version": 3,
        }


def test_cuda_entry_point_without_a_gpu_raises_unavailable():
    cfg = coselect.config(4, 2)
    with pytest.raises(CoselectError, match="COSELECT_UNAVAILABLE"):
        coselect.cuda_select(FakeDeviceArray(100, 4), cfg=cfg, counts=[0] * 4,
                             calibration=coselect.Calibration(1.0, None),
                             log_prior=np.full(4, -np.log(4.0)))
    with pytest.raises(TypeError):
        coselect.cuda_select(np.zeros((3, 4), np.float32), cfg=cfg, counts=[0] * 4,
                             calibration=coselect.Calibration(1.0, None))


def test_decision_bias_is_the_tempered_log_of_the_pool_marginal():
    fm, sm, labels = imbalanced_pool(rows=2000)
    bias = coselect.decision_bias(sm, 0.5)
    marginal = np.exp(sm.astype(np.float64)).mean(axis=0)
    assert bias.dtype == np.float32 and bias.shape == (6,)
    np.testing.assert_allclose(bias, -0.5 * np.log(marginal), atol=1e-5)
    # The class the pool has least of gets the largest push.
    assert np.argmax(bias) == np.argmin(marginal)
    # Any thread count, the same bits; a strided view reads like its copy.
    assert np.array_equal(coselect.decision_bias(sm, 0.5, threads=1), bias)
    wide = np.zeros((2000, 12), dtype=np.float32)
    wide[:, ::2] = sm
    assert np.array_equal(coselect.decision_bias(wide[:, ::2], 0.5), bias)
    assert np.all(coselect.decision_bias(sm, 0.0) == 0.0)
    with pytest.raises(CoselectError, match="COSELECT_INVALID_ARGUMENT"):
        coselect.decision_bias(sm, -1.0)
    with pytest.raises(CoselectError, match="COSELECT_NOT_NORMALIZED"):
        coselect.decision_bias(fm)
    bad = sm.copy()
    bad[17, 3] = np.nan
    with pytest.raises(CoselectError) as e:
        coselect.decision_bias(bad)
    assert e.value.name == "COSELECT_NON_FINITE" and "row 17, col 3" in str(e.value)
