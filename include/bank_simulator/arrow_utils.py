"""Fast, vectorised construction of Arrow columns for the contract types.

Generating 100 M transaction rows means no per-row Python: ids are built as fixed-width ASCII
digit matrices, decimals straight from integer cents, timestamps from integer microseconds.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from include.contract import Table

DECIMAL_18_2 = pa.decimal128(18, 2)


def keep_freed_memory_in_heap() -> bool:
    """Ask glibc to reuse freed memory instead of returning every large array to the kernel.

    Generation allocates and frees arrays of 50-100 MB every month; by default glibc serves each
    with a fresh mmap, and the kernel zero-fills its pages again (about 15% of the CPU time of a
    large run, measured). Only the command line and the benchmark call this (it is process-wide);
    returns False where it is not available.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_mmap_max, m_trim_threshold = -4, -1
        return bool(libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 1 << 34))
    except (OSError, AttributeError):
        return False


def arrow_type(contract_type: str) -> pa.DataType:
    """Arrow type that the simulator writes for a contract (DuckDB) type."""
    t = contract_type.upper().strip()
    if t == "VARCHAR":
        return pa.string()
    if t == "DATE":
        return pa.date32()
    if t == "TIMESTAMP":
        return pa.timestamp("us")
    if t == "INTEGER":
        return pa.int32()
    if t == "BIGINT":
        return pa.int64()
    if t == "DOUBLE":
        return pa.float64()
    if t == "BOOLEAN":
        return pa.bool_()
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    raise ValueError(f"contract type {contract_type!r} has no Arrow mapping in the simulator")


def schema_for(table: Table) -> pa.Schema:
    # source_optional columns (credit score, income) are data some banks lack: the simulator's bank does.
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns if not c.source_optional])


# "0000" ... "9999" as little-endian uint32 words: ids are assembled four digits at a time.
_QUAD = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode("ascii"), dtype=np.uint32)


def digit_matrix(numbers: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 ASCII digits of zero-padded numbers (numbers must fit in width digits)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n_quads = (width + 3) // 4
    words = np.empty((numbers.shape[0], n_quads), dtype=np.uint32)
    rest = numbers
    for j in range(n_quads - 1, -1, -1):
        if j == 0:
            words[:, 0] = _QUAD[rest % 10_000]
        else:
            rest, low = np.divmod(rest, 10_000)
            words[:, j] = _QUAD[low]
    return words.view(np.uint8)[:, 4 * n_quads - width:]


def strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """Arrow strings from a (n, w) uint8 matrix of ASCII bytes, one fixed-width string per row."""
    mat = np.ascontiguousarray(mat)
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    if offsets[-1] < 2**31 - 1:
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(mat)]
        )
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat)])


_HEAD_TABLES: dict[str, np.ndarray] = {}


def _head_table(prefix: str) -> np.ndarray:
    """prefix + (4 - len(prefix)) digits, for every value of those digits, as uint32 words."""
    table = _HEAD_TABLES.get(prefix)
    if table is None:
        k = 4 - len(prefix)
        table = np.frombuffer("".join(f"{prefix}{i:0{k}d}" for i in range(10**k)).encode("ascii"),
                              dtype=np.uint32)
        _HEAD_TABLES[prefix] = table
    return table


def id_words(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """(n, words) uint32 of ``prefix + zero-padded number`` when the id length is a multiple of 4.

    Whole 4-byte words are gathered from lookup tables, so no byte-wise copies happen; this is
    what keeps 100 M transaction ids cheap.
    """
    total = len(prefix) + width
    if total % 4 or not 1 <= len(prefix) <= 3:
        raise ValueError("id_words needs a 1-3 character prefix and a total length that is a multiple of 4")
    numbers = np.asarray(numbers, dtype=np.int64)
    n_words = total // 4
    words = np.empty((numbers.shape[0], n_words), dtype=np.uint32)
    rest = numbers
    for j in range(n_words - 1, 0, -1):
        rest, low = np.divmod(rest, 10_000)
        words[:, j] = _QUAD[low]
    words[:, 0] = _head_table(prefix)[rest]
    return words


def id_matrix(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    if (len(prefix) + width) % 4 == 0 and 1 <= len(prefix) <= 3:
        return id_words(prefix, numbers, width).view(np.uint8)
    p = prefix.encode("ascii")
    numbers = np.asarray(numbers, dtype=np.int64)
    mat = np.empty((numbers.shape[0], len(p) + width), dtype=np.uint8)
    if p:
        mat[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    mat[:, len(p):] = digit_matrix(numbers, width)
    return mat


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Strings ``prefix + zero-padded number`` (e.g. C0000042) without a Python loop."""
    return strings_from_matrix(id_matrix(prefix, numbers, width))


def take_strings(values: list[str] | np.ndarray, index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Strings picked from a small vocabulary by integer index (NULL where mask is True).

    Returned dictionary-encoded: Parquet then writes the dictionary pages without hashing every
    value, and readers see plain strings (the Arrow schema is not stored, see generator.write_file).
    """
    vocab = pa.array(list(values), pa.string())
    idx = pa.array(np.asarray(index, dtype=np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, vocab)


def gather_ids(words: np.ndarray, index: np.ndarray, tail: np.ndarray | None = None) -> pa.Array:
    """Strings for rows ``index`` of a precomputed (n, k) uint32 id-word table (+ optional tail words)."""
    if words.shape[1] == 2:
        # 8-byte ids: one uint64 gather per row instead of a 2-D fancy index
        flat = np.ascontiguousarray(words).view(np.uint64).ravel()
        if tail is None:
            return strings_from_matrix(flat[index].view(np.uint8).reshape(len(index), 8))
        out = np.empty((len(index), 3), dtype=np.uint32)
        out[:, :2] = flat[index].view(np.uint32).reshape(len(index), 2)
        out[:, 2] = tail
        return strings_from_matrix(out.view(np.uint8))
    head = words[index]
    if tail is not None:
        head = np.concatenate([head, tail.reshape(len(index), -1)], axis=1)
    return strings_from_matrix(head.view(np.uint8))


def quad_words(values: np.ndarray) -> np.ndarray:
    """Four zero-padded digits (0..9999) as uint32 words."""
    return _QUAD[np.asarray(values, dtype=np.int64)]


def decimal_from_cents(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    n = cents.shape[0]
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
        null_count = int(mask.sum())
    return pa.Array.from_buffers(DECIMAL_18_2, n, [validity, pa.py_buffer(words)], null_count=null_count)


def money(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """DECIMAL(18,2) from float amounts, rounded half away from zero to the cent."""
    return decimal_from_cents(np.rint(np.asarray(values, dtype=np.float64) * 100.0).astype(np.int64), mask)


def timestamps_us(us: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), pa.timestamp("us"), mask=mask)


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """date32 from days since 1970-01-01 (numpy datetime64[D] also accepted)."""
    arr = np.asarray(days)
    if np.issubdtype(arr.dtype, np.datetime64):
        arr = arr.astype("datetime64[D]").astype(np.int64)
    # int32 -> date32 is a zero-copy view; pa.array(..., pa.date32()) converts value by value.
    return pa.array(arr.astype(np.int32, copy=False), mask=mask).view(pa.date32())


def int32(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int32), pa.int32(), mask=mask)


def build_table(table: Table, columns: dict[str, pa.Array]) -> pa.Table:
    """An Arrow table with exactly the contract's columns, order and types."""
    schema = schema_for(table)
    missing = [f.name for f in schema if f.name not in columns]
    if missing:
        raise ValueError(f"simulator built table {table.name!r} without contract columns {missing}")
    arrays, fields = [], []
    for f in schema:
        a = columns[f.name]
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        if pa.types.is_dictionary(a.type) and a.type.value_type == f.type:
            # kept dictionary-encoded in memory; it is the same contract type on disk
            fields.append(pa.field(f.name, a.type))
        else:
            if a.type != f.type:
                a = a.cast(f.type)
            fields.append(f)
        arrays.append(a)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
