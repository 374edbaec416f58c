"""Pack integer codes into flat bus words (hex) and back, vectorized with numpy.

Bus layout (the RTL's): element ``i`` of a vector occupies bits ``[i*W +: W]``, element 0 in the least
significant bits; each element is the two's complement (signed) or plain binary (unsigned) code.
"""

from __future__ import annotations

import numpy as np

from flow.errors import MismatchError


def _uint_dtype(width: int) -> type:
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if width <= np.dtype(dt).itemsize * 8:
            return dt
    raise ValueError(f"code width {width} exceeds 64 bits")


def pack_bytes(codes: np.ndarray, width: int, *, chunk: int = 65536) -> np.ndarray:
    """``[N, n]`` int codes -> ``[N, ceil(n * width / 8)]`` uint8 bus words, most significant byte first."""
    codes = np.asarray(codes, dtype=np.int64)
    n_rows, n = codes.shape
    total = n * width
    nbytes = (total + 7) // 8
    dt = _uint_dtype(width)
    out = np.empty((n_rows, nbytes), dtype=np.uint8)
    for a in range(0, n_rows, chunk):
        u = (codes[a : a + chunk] & ((1 << width) - 1)).astype("<" + np.dtype(dt).str[1:])
        bits = np.unpackbits(u.view(np.uint8).reshape(len(u), n, -1), axis=2, bitorder="little")
        bits = bits[:, :, :width].reshape(len(u), total)
        out[a : a + chunk] = np.packbits(bits, axis=1, bitorder="little")[:, ::-1]
    return out


def pack_hex(codes: np.ndarray, width: int) -> list[str]:
    """``[N, n]`` int codes -> ``N`` hex strings of the ``n * width``-bit bus (MSB first, zero padded)."""
    packed = pack_bytes(codes, width)
    n_rows = packed.shape[0]
    digits = (codes.shape[1] * width + 3) // 4
    row = packed.shape[1] * 2
    skip = row - digits
    raw = packed.tobytes().hex()
    return [raw[k * row + skip : (k + 1) * row] for k in range(n_rows)]


def unpack_hex(words: list[str], n: int, width: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack_hex`: hex bus words -> ``[N, n]`` int64 codes."""
    total = n * width
    nbytes = (total + 7) // 8
    if not words:
        return np.zeros((0, n), np.int64)
    try:
        joined = "".join(w.strip().rjust(nbytes * 2, "0")[-nbytes * 2 :] for w in words)
        buf = np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(len(words), nbytes)
    except ValueError as exc:
        raise MismatchError(f"RTL output is not a valid hex bus word ({exc}); X/Z values reached the output?") from exc
    bits = np.unpackbits(buf[:, ::-1], axis=1, bitorder="little")[:, :total].reshape(len(words), n, width)
    weights = np.int64(1) << np.arange(width, dtype=np.int64)
    codes = (bits.astype(np.int64) * weights).sum(axis=2)
    if signed:
        codes = np.where(codes >= (1 << (width - 1)), codes - (1 << width), codes)
    return codes


def unsigned_value(value) -> int:
    """A cocotb signal value as an unsigned integer (a 1-bit port reads as a ``Logic``, wider as a
    ``LogicArray``)."""
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)
