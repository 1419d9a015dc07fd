"""ctypes declarations of the C ABI (ffi/include/coselect.h).

The layouts here mirror the header; `test_abi_layout` in the tests checks
the struct sizes against what the library itself reports by round trips.
"""
import ctypes
import os
import sys
from ctypes import POINTER, c_char_p, c_float, c_int32, c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p
from pathlib import Path

ABI_VERSION = 1
CONFIG_VERSION = 1

_LIB_NAME = {"darwin": "libcoselect_ffi.dylib", "win32": "coselect_ffi.dll"}.get(
    sys.platform, "libcoselect_ffi.so"
)


class Config(ctypes.Structure):
    _fields_ = [
        ("version", c_uint32),
        ("classes", c_uint32),
        ("k", c_uint32),
        ("seed_min", c_uint32),
        ("co_confidence", c_float),
        ("co_floor", c_float),
        ("cap_factor", c_uint32),
        ("pseudo_weight", c_float),
        ("trust_threshold", c_float),
        ("temperature_ridge", c_float),
        ("temperature_min", c_float),
        ("fusion_ridge", c_float),
        ("em_tolerance", c_float),
        ("em_max_iterations", c_uint32),
        ("em_floor", c_float),
        ("newton_max_steps", c_uint32),
        ("newton_tolerance", c_float),
    ]


class Matrix(ctypes.Structure):
    _fields_ = [
        ("data", c_void_p),
        ("rows", c_size_t),
        ("cols", c_size_t),
        ("row_stride", c_size_t),
    ]


class Calibration(ctypes.Structure):
    _fields_ = [
        ("temperature", c_float),
        ("has_fusion", c_uint32),
        ("fusion_a", c_float),
        ("fusion_b", c_float),
    ]


class Pick(ctypes.Structure):
    _fields_ = [
        ("index", c_uint64),
        ("class_id", c_uint32),
        ("score", c_float),
        ("reason", c_uint32),
    ]


class PseudoLabel(ctypes.Structure):
    _fields_ = [("index", c_uint64), ("class_id", c_uint32), ("confidence", c_float)]


class DeviceMatrix(ctypes.Structure):
    _fields_ = [("ptr", c_uint64), ("rows", c_size_t), ("cols", c_size_t), ("dtype", c_uint32)]


class Verdict(ctypes.Structure):
    _fields_ = [("suspect", c_uint32), ("label_probability", c_float), ("agreed_class", c_int32)]


def _find_library() -> str:
    env = os.environ.get("COSELECT_LIBRARY")
    if env:
        return env
    here = Path(__file__).resolve().parent
    bundled = here / _LIB_NAME
    if bundled.exists():
        return str(bundled)
    # A source checkout used without installing: the workspace's build.
    target = Path(os.environ.get("CARGO_TARGET_DIR", here.parent.parent / "target"))
    for profile in ("release", "debug"):
        p = target / profile / _LIB_NAME
        if p.exists():
            return str(p)
    raise OSError(
        f"{_LIB_NAME} not found: install the package with `pip install ./python`, "
        "or set COSELECT_LIBRARY to the library built by `cargo build --release -p coselect-ffi`"
    )


lib = ctypes.CDLL(_find_library())

_S = c_int32  # coselect_status
_P = POINTER
_SIGNATURES = {
    "coselect_abi_version": (c_uint32, []),
    "coselect_version": (c_char_p, []),
    "coselect_last_error": (c_char_p, []),
    "coselect_status_name": (c_char_p, [c_int32]),
    "coselect_config_init": (_S, [_P(Config), c_uint32, c_uint32]),
    "coselect_fit_calibration": (
        _S,
        [_P(Config), _P(Matrix), _P(Matrix), _P(c_uint32), c_size_t, _P(Calibration)],
    ),
    "coselect_judge_labels": (
        _S,
        [_P(Config), _P(Matrix), _P(Matrix), _P(c_uint32), c_size_t, _P(Calibration), _P(Verdict)],
    ),
    "coselect_select": (
        _S,
        [
            _P(Config), _P(Matrix), _P(Matrix), _P(c_int64), c_size_t, c_uint32,
            _P(Pick), c_size_t, _P(c_size_t),
            _P(PseudoLabel), c_size_t, _P(c_size_t),
            _P(Calibration),
        ],
    ),
    "coselect_decision_bias": (_S, [_P(Matrix), c_float, c_uint32, _P(c_float), c_size_t]),
    "coselect_selector_new": (
        _S,
        [_P(Config), _P(c_uint32), c_size_t, _P(Calibration), _P(c_float), _P(c_void_p)],
    ),
    "coselect_selector_new_from_pool": (
        _S,
        [_P(Config), _P(Matrix), _P(Matrix), _P(c_int64), c_size_t, c_uint32, _P(c_void_p)],
    ),
    "coselect_selector_push": (_S, [c_void_p, _P(Matrix), _P(Matrix), _P(c_uint64), c_size_t]),
    "coselect_selector_merge": (_S, [c_void_p, c_void_p]),
    "coselect_selector_rows": (_S, [c_void_p, _P(c_uint64)]),
    "coselect_selector_to_bytes": (_S, [c_void_p, _P(c_uint8), c_size_t, _P(c_size_t)]),
    "coselect_selector_from_bytes": (_S, [_P(c_uint8), c_size_t, _P(c_void_p)]),
    "coselect_selector_finish": (
        _S,
        [c_void_p, _P(Pick), c_size_t, _P(c_size_t), _P(PseudoLabel), c_size_t, _P(c_size_t)],
    ),
    "coselect_selector_free": (None, [c_void_p]),
    "coselect_prior_new": (_S, [_P(Config), _P(Calibration), _P(c_void_p)]),
    "coselect_prior_push": (_S, [c_void_p, _P(Matrix), _P(Matrix)]),
    "coselect_prior_merge": (_S, [c_void_p, c_void_p]),
    "coselect_prior_end_pass": (_S, [c_void_p, _P(c_uint32)]),
    "coselect_prior_log_prior": (_S, [c_void_p, _P(c_float), c_size_t]),
    "coselect_prior_to_bytes": (_S, [c_void_p, _P(c_uint8), c_size_t, _P(c_size_t)]),
    "coselect_prior_from_bytes": (_S, [_P(c_uint8), c_size_t, _P(c_void_p)]),
    "coselect_prior_free": (None, [c_void_p]),
    "coselect_cuda_select": (
        _S,
        [
            _P(Config), _P(c_uint32), c_size_t, _P(Calibration), _P(c_float),
            DeviceMatrix, DeviceMatrix, c_uint64, c_uint32, c_uint64,
            _P(Pick), c_size_t, _P(c_size_t), _P(PseudoLabel), c_size_t, _P(c_size_t),
        ],
    ),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args

if lib.coselect_abi_version() != ABI_VERSION:
    raise ImportError(
        f"coselect library ABI {lib.coselect_abi_version()}, this package speaks {ABI_VERSION}"
    )
