#!/usr/bin/python3
"""Writes the .npy fixtures that tests/npy_test.cpp loads, with real NumPy.

Run from anywhere with a NumPy-enabled Python (Debian: apt-get install python3-numpy, then
/usr/bin/python3 tests/data/make_npy_fixtures.py). The files are small and committed; the
test knows their values, so rerunning must not change them.
"""
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def save(name, array, version=None):
    with open(HERE / name, "wb") as f:
        # write_array with version=None picks 1.0, as np.save does.
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)


# Values that exercise every kind of double: normal, subnormal, signed zero, inf, nan.
save("f8_2x4.npy", np.array([[1.5, -2.25, 1e-300, np.nan], [np.inf, -0.0, 5e-324, 0.1]], "<f8"))
# element (i, j, k) = (12 i + 4 j + k) / 8 - 1, exact in float32
save("f4_2x3x4.npy", (np.arange(24, dtype="<f4").reshape(2, 3, 4) / np.float32(8)) - np.float32(1))
save("f4_scalar.npy", np.array(3.25, dtype="<f4"))
save("f8_empty_0x3.npy", np.zeros((0, 3), dtype="<f8"))
save("f8_v2.npy", np.linspace(0, 1, 5), version=(2, 0))
save("f4_v3.npy", np.array([1, -2, 3], dtype="<f4"), version=(3, 0))
# Refused by lamppost: NumPy writes a transposed C array as fortran_order True.
save("f8_fortran.npy", np.arange(6, dtype="<f8").reshape(2, 3).T)
save("i8.npy", np.arange(3, dtype="<i8"))
save("f8_big_endian.npy", np.arange(3, dtype=">f8"))
