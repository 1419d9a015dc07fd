"""coselect.ray on a local Ray instance (2 CPUs, loopback only): the
distributed selection equals the single-process one for several shard
counts and batch sizes, with and without labels and a small model."""
import json
import os
import subprocess

import numpy as np
import pytest

import coselect

try:
    import ray
    import coselect.ray as cray
except ImportError as e:  # pragma: no cover - depends on the environment
    if os.environ.get("COSELECT_REQUIRE_RAY"):
        raise
    pytest.skip(f"ray is not installed ({e}); pip install ./python[ray]", allow_module_level=True)

from test_coselect import cli_binary, imbalanced_pool


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", ignore_reinit_error=True)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def _from_columns(items, shards):
    """A dataset of `shards` blocks, one row per sample, tensor columns."""
    n = items["fm"].shape[0]
    rows = [{k: v[i] for k, v in items.items()} for i in range(n)]
    return ray.data.from_items(rows, override_num_blocks=shards)


CASES = [
    # (with small model and labels, shards, batch size)
    (False, 1, 4096),
    (False, 4, 100),
    (True, 2, 777),
    (True, 5, 64),
    (True, 8, 4096),
]


@pytest.mark.parametrize("with_sm,shards,batch", CASES)
def test_distributed_equals_single_process(local_ray, with_sm, shards, batch):
    fm, sm, labels = imbalanced_pool(rows=3000, seed=11)
    if not with_sm:
        sm, labels = None, np.full_like(labels, -1)
    ids = np.arange(fm.shape[0])
    ds = _from_columns({"id": ids, "fm": fm, "label": labels, **({"sm": sm} if sm is not None else {})},
                       shards)
    stats = {}
    got = cray.select(ds, k=24, sm="sm" if with_sm else None, label="label", batch_size=batch,
                      stats=stats)
    want = coselect.select(fm, sm=sm, labels=labels if with_sm else None, k=24)
    assert got.indices.tolist() == want.indices.tolist()
    assert got.classes.tolist() == want.classes.tolist()
    assert got.pseudo_indices.tolist() == want.pseudo_indices.tolist()
    assert stats["state_bytes"] < 40_000  # O(classes x k), not O(rows)


def test_user_ids_and_the_cli(local_ray, tmp_path):
    fm, sm, labels = imbalanced_pool(rows=2000, seed=12)
    np.save(tmp_path / "fm.npy", fm)
    np.save(tmp_path / "sm.npy", sm)
    np.save(tmp_path / "labels.npy", labels)
    subprocess.run([cli_binary(), "select", "--fm", str(tmp_path / "fm.npy"), "--sm",
                    str(tmp_path / "sm.npy"), "--labeled", str(tmp_path / "labels.npy"), "--k", "16",
                    "--out", str(tmp_path / "picks.json")], check=True, capture_output=True)
    doc = json.loads((tmp_path / "picks.json").read_text())
    # Ids are the user's: position i is id 10 * i + 7, which keeps the order.
    ids = 10 * np.arange(fm.shape[0]) + 7
    ds = _from_columns({"id": ids, "fm": fm, "sm": sm, "label": labels}, 3)
    got = cray.select(ds, k=16, sm="sm", label="label", batch_size=300)
    assert got.indices.tolist() == [10 * q["index"] + 7 for q in doc["queries"]]
    assert got.pseudo_indices.tolist() == [10 * p["index"] + 7 for p in doc["pseudo_labels"]]
