"""Builds the C ABI library with cargo and ships it inside the package.

`pip install ./python` runs `cargo build --release -p coselect-ffi` in the
workspace this directory belongs to (Rust's toolchain must be installed) and
copies libcoselect_ffi into the package, so the installed package needs
neither Rust nor the source tree. COSELECT_LIBRARY, when set, names a
prebuilt library to ship instead.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parent
LIB = {"darwin": "libcoselect_ffi.dylib", "win32": "coselect_ffi.dll"}.get(
    sys.platform, "libcoselect_ffi.so"
)


def built_library() -> Path:
    prebuilt = os.environ.get("COSELECT_LIBRARY")
    if prebuilt:
        return Path(prebuilt)
    subprocess.run(
        ["cargo", "build", "--release", "-p", "coselect-ffi"], cwd=WORKSPACE, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", WORKSPACE / "target"))
    if not target.is_absolute():
        target = WORKSPACE / target
    return target / "release" / LIB


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        dest = Path(self.build_lib) / "coselect" / LIB
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built_library(), dest)


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform-specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
