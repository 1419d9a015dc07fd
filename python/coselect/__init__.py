"""coselect: which unlabeled samples to annotate next.

Fuses a foundation model's zero-shot class scores (the FM prior) with a
small model trained on the labels so far, for class-imbalanced pools with
noisy annotations. This package is a thin numpy front end of the coselect C
ABI (the Rust library does the work; see ffi/include/coselect.h).

One round on a pool in memory::

    import numpy as np, coselect
    fm = np.load("fm_scores.npy")            # rows x classes, FM logits
    sm = np.load("small_model_logprobs.npy") # same shape, or None in round 0
    labels = np.load("labels.npy")           # -1 unlabeled, else the class
    sel = coselect.select(fm, sm=sm, labels=labels, k=64)
    sel.indices, sel.classes, sel.reasons    # what to annotate, and why
    sel.pseudo_indices, sel.pseudo_classes   # labels that need no human

Arrays that are float32 with unit column stride (C-contiguous, or row
slices of such arrays) are read in place, without a copy; anything else is
converted once. Every failure raises :class:`CoselectError` with the
library's message (the input, row and column).
"""
import ctypes
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _ffi
from ._ffi import lib

__all__ = [
    "CoselectError",
    "Calibration",
    "Selection",
    "Selector",
    "Prior",
    "cuda_select",
    "config",
    "select",
    "fit_calibration",
    "judge_labels",
    "decision_bias",
    "version",
]

_PICK = np.dtype(
    {"names": ["index", "class", "score", "reason"], "formats": ["<u8", "<u4", "<f4", "<u4"],
     "offsets": [0, 8, 12, 16], "itemsize": ctypes.sizeof(_ffi.Pick)}
)
_PSEUDO = np.dtype(
    {"names": ["index", "class", "confidence"], "formats": ["<u8", "<u4", "<f4"],
     "offsets": [0, 8, 12], "itemsize": ctypes.sizeof(_ffi.PseudoLabel)}
)
_OK, _BUFFER_TOO_SMALL = 0, 9


class CoselectError(Exception):
    """A call the library refused: `status` is the C status code, `name` its
    name (e.g. ``COSELECT_NON_FINITE``), the message explains it."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.name = lib.coselect_status_name(status).decode()
        super().__init__(f"{self.name}: {message}")


def _check(status: int) -> None:
    if status != _OK:
        raise CoselectError(status, lib.coselect_last_error().decode(errors="replace"))


def version() -> str:
    """The library's version."""
    return lib.coselect_version().decode()


def config(classes: int, k: int, **fields) -> _ffi.Config:
    """The method's settings: the defaults for `classes` and budget `k`, with
    any field of ``coselect_config`` overridden by keyword (e.g.
    ``seed_min=5``). Validated by every call that takes it."""
    c = _ffi.Config()
    _check(lib.coselect_config_init(ctypes.byref(c), int(classes), int(k)))
    for name, value in fields.items():
        if name in ("version", "classes", "k") or not hasattr(c, name):
            raise TypeError(f"config has no settable field {name!r}")
        setattr(c, name, value)
    return c


@dataclass(frozen=True)
class Calibration:
    """The FM temperature and, with a small model, the fusion weights."""

    temperature: float
    fusion: Optional[tuple]

    def _c(self) -> _ffi.Calibration:
        a, b = self.fusion if self.fusion is not None else (0.0, 0.0)
        return _ffi.Calibration(self.temperature, int(self.fusion is not None), a, b)

    @staticmethod
    def _from_c(c: _ffi.Calibration) -> "Calibration":
        fusion = (c.fusion_a, c.fusion_b) if c.has_fusion else None
        return Calibration(c.temperature, fusion)


@dataclass(frozen=True)
class Selection:
    """A round's decision: rows to annotate (in pick order) and the
    co-decided pseudo-labels (class by class, most confident first)."""

    indices: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray
    pseudo_indices: np.ndarray
    pseudo_classes: np.ndarray
    pseudo_confidence: np.ndarray
    calibration: Optional[Calibration] = None


def _selection(picks, pseudo, calibration=None) -> Selection:
    reasons = np.where(picks["reason"] == 0, "seed", "boundary")
    return Selection(
        indices=picks["index"].copy(),
        classes=picks["class"].copy(),
        scores=picks["score"].copy(),
        reasons=reasons,
        pseudo_indices=pseudo["index"].copy(),
        pseudo_classes=pseudo["class"].copy(),
        pseudo_confidence=pseudo["confidence"].copy(),
        calibration=calibration,
    )


def _matrix(name, a):
    """A C matrix over `a` (kept alive by the returned array): zero-copy
    for float32 rows with unit column stride."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x classes), got shape {a.shape}")
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    if a.strides[1] != 4 or a.strides[0] < 0 or a.strides[0] % 4 != 0:
        a = np.ascontiguousarray(a)
    stride = a.strides[0] // 4 if a.shape[0] > 1 else a.shape[1]
    return _ffi.Matrix(a.ctypes.data, a.shape[0], a.shape[1], stride), a


def _opt_matrix(name, a):
    if a is None:
        return None, None
    m, keep = _matrix(name, a)
    return ctypes.byref(m), (m, keep)


def _ints(name, a, dtype):
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got {a.dtype}")
    return np.ascontiguousarray(a, dtype=dtype)


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


def select(fm, sm=None, labels=None, k=None, *, cfg=None, threads=0) -> Selection:
    """One labeling round over a whole pool, exactly as ``coselect select``:
    calibration on the labeled rows, the EM prior, the balanced selection
    of `k` rows, and (with `sm` and some labels) the pseudo-labels.

    `fm`: rows x classes FM scores; `sm`: the small model's
    log-probabilities (same shape) or None; `labels`: one int per row, -1
    unlabeled, or None; `cfg`: from :func:`config` (else the defaults for
    `k`); `threads`: 0 for every core.
    """
    fm_m, fm_keep = _matrix("fm", fm)
    if cfg is None:
        if k is None:
            raise TypeError("give k or cfg")
        cfg = config(fm_m.cols, k)
    sm_ref, sm_keep = _opt_matrix("sm", sm)
    if labels is None:
        lab, lab_ptr, n_lab = None, None, 0
    else:
        lab = _ints("labels", labels, np.int64)
        lab_ptr, n_lab = _ptr(lab, ctypes.c_int64), lab.shape[0]
    picks = np.zeros(cfg.k, dtype=_PICK)
    n_picks, n_pseudo = ctypes.c_size_t(), ctypes.c_size_t()
    cal = _ffi.Calibration()
    # Pseudo-labels are at most the pool's rows; np.empty only reserves the
    # pages, so the unused tail costs no memory, and the round runs once.
    pseudo = np.empty(fm_m.rows if sm is not None else 0, dtype=_PSEUDO)
    args = (
        ctypes.byref(cfg), ctypes.byref(fm_m), sm_ref, lab_ptr, n_lab, int(threads),
        picks.ctypes.data_as(ctypes.POINTER(_ffi.Pick)), picks.shape[0], ctypes.byref(n_picks),
        pseudo.ctypes.data_as(ctypes.POINTER(_ffi.PseudoLabel)), pseudo.shape[0],
        ctypes.byref(n_pseudo), ctypes.byref(cal),
    )
    status = lib.coselect_select(*args)
    _check(status)
    del fm_keep, sm_keep, lab
    return _selection(
        picks[: n_picks.value], pseudo[: n_pseudo.value], Calibration._from_c(cal)
    )


def fit_calibration(fm, labels, sm=None, *, cfg=None) -> Calibration:
    """Fits the FM temperature (and with `sm` the fusion weights) on
    human-labeled rows: `fm` (and `sm`) hold only those rows, `labels` their
    classes."""
    fm_m, fm_keep = _matrix("fm", fm)
    cfg = cfg if cfg is not None else config(fm_m.cols, 1)
    sm_ref, sm_keep = _opt_matrix("sm", sm)
    lab = _ints("labels", labels, np.uint32) if np.all(np.asarray(labels) >= 0) else None
    if lab is None:
        raise ValueError("labels of calibration rows must be class indices (>= 0)")
    out = _ffi.Calibration()
    _check(lib.coselect_fit_calibration(
        ctypes.byref(cfg), ctypes.byref(fm_m), sm_ref, _ptr(lab, ctypes.c_uint32), lab.shape[0],
        ctypes.byref(out),
    ))
    del fm_keep, sm_keep
    return Calibration._from_c(out)


def judge_labels(fm, oos_sm, labels, calibration: Calibration, *, cfg=None) -> np.ndarray:
    """Label trust: for each human-labeled row, whether its label is
    suspect (both the FM and the out-of-sample small model agree on another
    class and give the label little probability). Returns a structured
    array with fields ``suspect`` (bool), ``label_probability`` and
    ``agreed_class`` (-1 when the views disagree)."""
    fm_m, fm_keep = _matrix("fm", fm)
    sm_m, sm_keep = _matrix("oos_sm", oos_sm)
    cfg = cfg if cfg is not None else config(fm_m.cols, 1)
    if np.any(np.asarray(labels) < 0):
        raise ValueError("labels to judge must be class indices (>= 0)")
    lab = _ints("labels", labels, np.uint32)
    out = (_ffi.Verdict * max(1, lab.shape[0]))()
    cal = calibration._c()
    _check(lib.coselect_judge_labels(
        ctypes.byref(cfg), ctypes.byref(fm_m), ctypes.byref(sm_m), _ptr(lab, ctypes.c_uint32),
        lab.shape[0], ctypes.byref(cal), out,
    ))
    del fm_keep, sm_keep
    res = np.zeros(lab.shape[0], dtype=[("suspect", bool), ("label_probability", "<f4"),
                                          ("agreed_class", "<i4")])
    for i in range(lab.shape[0]):
        res[i] = (bool(out[i].suspect), out[i].label_probability, out[i].agreed_class)
    return res


def decision_bias(sm, tau=0.5, *, threads=0) -> np.ndarray:
    """The per-class bias with which the small model should decide for
    balanced accuracy: ``np.argmax(sm + bias, axis=1)``. `sm` holds the
    model's log-probabilities on every row of the pool (labeled rows too);
    the bias is ``-tau * log(pi)``, `pi` the model's mean posterior over
    them (0.5: the strength ``coselect simulate`` measured best)."""
    sm_m, sm_keep = _matrix("sm", sm)
    out = np.zeros(sm_m.cols, dtype=np.float32)
    _check(lib.coselect_decision_bias(
        ctypes.byref(sm_m), float(tau), int(threads), _ptr(out, ctypes.c_float), out.shape[0],
    ))
    del sm_keep
    return out


class Selector:
    """A round's selection state, fed in batches and merged across
    processes: the building block of sharded selection (see
    :mod:`coselect.ray`). Rows are known by the caller's integer ids."""

    def __init__(self, handle: ctypes.c_void_p):
        self._h = handle

    @classmethod
    def new(cls, cfg, counts, calibration: Calibration, log_prior=None) -> "Selector":
        """A selector under a plan the caller fitted: `counts` trusted human
        labels per class, the calibration, and `log_prior` (log of the
        pool's class prior; needed while some class has fewer than
        ``seed_min`` labels)."""
        c = _ints("counts", counts, np.uint32)
        lp = None if log_prior is None else np.ascontiguousarray(log_prior, dtype=np.float32)
        cal = calibration._c()
        h = ctypes.c_void_p()
        _check(lib.coselect_selector_new(
            ctypes.byref(cfg), _ptr(c, ctypes.c_uint32), c.shape[0], ctypes.byref(cal),
            None if lp is None else _ptr(lp, ctypes.c_float), ctypes.byref(h),
        ))
        return cls(h)

    @classmethod
    def from_pool(cls, fm, sm=None, labels=None, *, k=None, cfg=None, threads=0) -> "Selector":
        """An empty selector under the plan :func:`select` would fit on this
        pool (calibration and EM prior); no row is pushed."""
        fm_m, fm_keep = _matrix("fm", fm)
        if cfg is None:
            cfg = config(fm_m.cols, k)
        sm_ref, sm_keep = _opt_matrix("sm", sm)
        lab = None if labels is None else _ints("labels", labels, np.int64)
        h = ctypes.c_void_p()
        _check(lib.coselect_selector_new_from_pool(
            ctypes.byref(cfg), ctypes.byref(fm_m), sm_ref,
            None if lab is None else _ptr(lab, ctypes.c_int64), 0 if lab is None else lab.shape[0],
            int(threads), ctypes.byref(h),
        ))
        del fm_keep, sm_keep
        return cls(h)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Selector":
        """Reads a state written by :meth:`to_bytes`; corrupt or truncated
        bytes raise :class:`CoselectError`."""
        return cls(_from_bytes(lib.coselect_selector_from_bytes, data))

    def _handle(self):
        if not self._h:
            raise ValueError("the selector is closed")
        return self._h

    def push(self, fm, sm=None, ids=None) -> None:
        """Scores a batch of unlabeled rows; `ids` (one int per row) name
        them, else rows are numbered in push order from 0."""
        fm_m, fm_keep = _matrix("fm", fm)
        sm_ref, sm_keep = _opt_matrix("sm", sm)
        if ids is None:
            ids_a, ptr, n = None, None, 0
        else:
            ids_a = _ints("ids", ids, np.uint64)
            ptr, n = _ptr(ids_a, ctypes.c_uint64), ids_a.shape[0]
        _check(lib.coselect_selector_push(self._handle(), ctypes.byref(fm_m), sm_ref, ptr, n))
        del fm_keep, sm_keep, ids_a

    def merge(self, other: "Selector") -> None:
        """Adds the rows of `other` (same plan; disjoint ids)."""
        _check(lib.coselect_selector_merge(self._handle(), other._handle()))

    @property
    def rows(self) -> int:
        """Rows pushed (over every merged state)."""
        n = ctypes.c_uint64()
        _check(lib.coselect_selector_rows(self._handle(), ctypes.byref(n)))
        return n.value

    def to_bytes(self) -> bytes:
        """The state as bytes: O(classes x k), whatever the rows pushed."""
        return _to_bytes(lib.coselect_selector_to_bytes, self._handle())

    def finish(self) -> Selection:
        """The query batch and the pseudo-labels; the selector keeps them and
        accepts no more rows."""
        n, npl = ctypes.c_size_t(), ctypes.c_size_t()
        status = lib.coselect_selector_finish(
            self._handle(), None, 0, ctypes.byref(n), None, 0, ctypes.byref(npl)
        )
        if status not in (_OK, _BUFFER_TOO_SMALL):
            _check(status)
        picks = np.zeros(n.value, dtype=_PICK)
        pseudo = np.zeros(npl.value, dtype=_PSEUDO)
        _check(lib.coselect_selector_finish(
            self._handle(),
            picks.ctypes.data_as(ctypes.POINTER(_ffi.Pick)), n.value, ctypes.byref(n),
            pseudo.ctypes.data_as(ctypes.POINTER(_ffi.PseudoLabel)), npl.value, ctypes.byref(npl),
        ))
        return _selection(picks, pseudo)

    def close(self) -> None:
        """Frees the state (also done when the object is collected)."""
        if self._h:
            lib.coselect_selector_free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _to_bytes(fn, handle) -> bytes:
    n = ctypes.c_size_t()
    status = fn(handle, None, 0, ctypes.byref(n))
    if status != _BUFFER_TOO_SMALL:
        _check(status)
    buf = (ctypes.c_uint8 * n.value)()
    _check(fn(handle, buf, n.value, ctypes.byref(n)))
    return bytes(buf)


def _from_bytes(fn, data) -> ctypes.c_void_p:
    data = bytes(data)
    buf = (ctypes.c_uint8 * max(1, len(data))).from_buffer_copy(data or b"\0")
    h = ctypes.c_void_p()
    _check(fn(buf, len(data), ctypes.byref(h)))
    return h


class Prior:
    """The EM estimate of the pool's class prior, pass by pass over shards:
    ship :meth:`to_bytes` to each shard, :meth:`push` its rows (every row,
    labeled ones too) into :meth:`from_bytes` copies, :meth:`merge` the
    copies back, :meth:`end_pass`; repeat until it returns True. The result
    equals the prior :func:`select` fits on the whole pool, bit for bit."""

    def __init__(self, handle: ctypes.c_void_p):
        self._h = handle

    @classmethod
    def new(cls, cfg, calibration: Calibration) -> "Prior":
        """EM from the uniform prior, on rows fused with `calibration`."""
        cal = calibration._c()
        h = ctypes.c_void_p()
        _check(lib.coselect_prior_new(ctypes.byref(cfg), ctypes.byref(cal), ctypes.byref(h)))
        return cls(h)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Prior":
        return cls(_from_bytes(lib.coselect_prior_from_bytes, data))

    def _handle(self):
        if not self._h:
            raise ValueError("the prior is closed")
        return self._h

    def push(self, fm, sm=None) -> None:
        fm_m, fm_keep = _matrix("fm", fm)
        sm_ref, sm_keep = _opt_matrix("sm", sm)
        _check(lib.coselect_prior_push(self._handle(), ctypes.byref(fm_m), sm_ref))
        del fm_keep, sm_keep

    def merge(self, other: "Prior") -> None:
        _check(lib.coselect_prior_merge(self._handle(), other._handle()))

    def end_pass(self) -> bool:
        done = ctypes.c_uint32()
        _check(lib.coselect_prior_end_pass(self._handle(), ctypes.byref(done)))
        return bool(done.value)

    def log_prior(self, classes: int) -> np.ndarray:
        out = np.zeros(classes, dtype=np.float32)
        _check(lib.coselect_prior_log_prior(self._handle(), _ptr(out, ctypes.c_float), classes))
        return out

    def to_bytes(self) -> bytes:
        return _to_bytes(lib.coselect_prior_to_bytes, self._handle())

    def close(self) -> None:
        if self._h:
            lib.coselect_prior_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


_DTYPES = {"<f4": 0, "<f2": 1}


def _device_matrix(name, a):
    """A device matrix from an object exposing ``__cuda_array_interface__``
    (PyTorch CUDA tensors, CuPy arrays, Numba device arrays): no copy."""
    if a is None:
        return _ffi.DeviceMatrix(0, 0, 0, 0)
    cai = getattr(a, "__cuda_array_interface__", None)
    if cai is None:
        raise TypeError(f"{name} is not a CUDA array (no __cuda_array_interface__)")
    shape, typestr = tuple(cai["shape"]), cai["typestr"]
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-D, got shape {shape}")
    if cai.get("strides") not in (None, (shape[1] * int(typestr[2:]), int(typestr[2:]))):
        raise ValueError(f"{name} must be C-contiguous on the device")
    if typestr not in _DTYPES:
        raise TypeError(f"{name}: dtype {typestr} is not float32 or float16")
    return _ffi.DeviceMatrix(int(cai["data"][0]), shape[0], shape[1], _DTYPES[typestr])


def cuda_select(fm, sm=None, labeled=None, *, cfg, counts, calibration: Calibration,
                log_prior=None, device: int = 0, stream: int = 0) -> Selection:
    """One round on GPU `device` over arrays already on it (anything with
    ``__cuda_array_interface__``: PyTorch CUDA tensors, CuPy arrays), read
    in place. `labeled`: a device array of one byte per row (nonzero:
    labeled), or None. The plan (`cfg`, `counts`, `calibration`,
    `log_prior`) is the caller's, as for :meth:`Selector.new`; `stream` is a
    raw ``CUstream`` (``torch.cuda.current_stream().cuda_stream``). Needs
    the library built with the ``cuda`` feature and a GPU; otherwise raises
    :class:`CoselectError` ``COSELECT_UNAVAILABLE``."""
    f = _device_matrix("fm", fm)
    m = _device_matrix("sm", sm)
    mask = 0 if labeled is None else int(labeled.__cuda_array_interface__["data"][0])
    c = _ints("counts", counts, np.uint32)
    lp = None if log_prior is None else np.ascontiguousarray(log_prior, dtype=np.float32)
    cal = calibration._c()
    picks = np.zeros(cfg.k, dtype=_PICK)
    pseudo = np.empty(f.rows, dtype=_PSEUDO)
    n, npl = ctypes.c_size_t(), ctypes.c_size_t()
    _check(lib.coselect_cuda_select(
        ctypes.byref(cfg), _ptr(c, ctypes.c_uint32), c.shape[0], ctypes.byref(cal),
        None if lp is None else _ptr(lp, ctypes.c_float), f, m, mask, int(device), int(stream),
        picks.ctypes.data_as(ctypes.POINTER(_ffi.Pick)), picks.shape[0], ctypes.byref(n),
        pseudo.ctypes.data_as(ctypes.POINTER(_ffi.PseudoLabel)), pseudo.shape[0], ctypes.byref(npl),
    ))
    return _selection(picks[: n.value], pseudo[: npl.value], calibration)
