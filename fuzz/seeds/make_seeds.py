#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets (fuzz/corpus/<target>/seed-*).

Seeds give libFuzzer valid structure to mutate from: small .npy files of each
dtype the reader takes (and some it refuses), and postcard bytes of a Config
and of Selector states as core's to_bytes writes them (layout: see
core/src/config.rs RawConfig and core/src/select.rs WireRef). Standard
library only, so CI needs no numpy.
"""
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def npy(descr, shape, data, major=1, fortran=False):
    shape_txt = "(%s,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_txt)
    hl = 4 if major > 1 else 2
    pad = (64 - (10 + hl - 2 + len(d) + 1) % 64) % 64
    d = d + " " * pad + "\n"
    head = b"\x93NUMPY" + bytes([major, 0])
    head += struct.pack("<H" if major == 1 else "<I", len(d))
    return head + d.encode() + data


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f32(x):
    return struct.pack("<f", x)


def config(classes, k):
    return (varint(1) + varint(classes) + varint(k) + varint(3) + f32(0.8) + f32(0.5)
            + varint(20) + f32(0.5) + f32(0.05) + f32(1.0) + f32(0.05) + f32(1.0)
            + f32(1e-6) + varint(100) + f32(1e-6) + varint(30) + f32(1e-7))


def selector(k, counts, pushed, heaps):
    out = varint(1) + varint(k) + varint(3) + varint(pushed)
    out += varint(len(counts)) + b"".join(varint(c) for c in counts)
    out += varint(len(heaps))
    for h in heaps:
        # A min-heap by (score, then higher index is worse): sorted worst
        # first is a valid heap.
        h = sorted(h, key=lambda e: (e[0], -e[1]))
        out += varint(k) + varint(len(h))
        out += b"".join(f32(s) + varint(i) for s, i in h)
    return out


def write(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


f32s = b"".join(f32(x) for x in [0.5, -1.0, 2.0, 0.0, 3.5, 1.0])
write("npy", "f4", npy("<f4", [3, 2], f32s))
write("npy", "f2", npy("<f2", [2, 2], struct.pack("<4e", 1.0, 0.5, -2.0, 0.0)))
write("npy", "i8", npy("<i8", [3], struct.pack("<3q", 0, -1, 1)))
write("npy", "i4", npy("<i4", [3], struct.pack("<3i", 1, -1, 0)))
write("npy", "v2", npy("<f4", [1, 3], f32s[:12], major=2))
write("npy", "fortran", npy("<f4", [2, 3], f32s, fortran=True))
write("npy", "f8", npy("<f8", [2], struct.pack("<2d", 1.0, 2.0)))
write("npy", "truncated", npy("<f4", [3, 2], f32s[:-3]))
write("decode", "config", config(3, 2))
write("decode", "config-big", config(1000, 70000))
write("decode", "selector-empty", selector(2, [0, 1, 5], 0, [[], [], []]))
write("decode", "selector", selector(2, [0, 1, 5], 3,
                                     [[(0.5, 0), (0.25, 1)], [(0.75, 2), (0.5, 1)], [(1.0, 0), (0.125, 2)]]))
write("decode", "selector-k3", selector(3, [2, 2], 3, [[(0.5, 0), (0.5, 1), (-1.0, 2)], [(0.1, 0), (0.2, 1), (0.3, 2)]]))
sys.exit(0)
