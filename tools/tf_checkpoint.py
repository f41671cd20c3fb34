"""Read a TensorFlow (V2 bundle) checkpoint with numpy only, no TensorFlow.

A checkpoint is `<prefix>.index`, a LevelDB-style sorted table mapping each variable
name to a `BundleEntryProto` (dtype, shape, shard, offset, size), and
`<prefix>.data-00000-of-00001` holding the raw little-endian tensor bytes. This module
parses the table and the few protobuf fields needed, and checks each tensor's CRC32C.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_TABLE_MAGIC = 0xDB4775248B80FB57
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 6: np.int8, 9: np.int64, 10: np.bool_}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _block_entries(block: bytes):
    """Yield (key, value) of one table block (prefix-compressed keys, restart array at the end)."""
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * num_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + value_len]
        pos += value_len


def _read_block(data: bytes, handle: bytes) -> bytes:
    offset, pos = _varint(handle, 0)
    size, _ = _varint(handle, pos)
    if data[offset + size] != 0:
        raise ValueError("compressed checkpoint tables are not supported")
    return data[offset : offset + size]


def _fields(buf: bytes):
    """Yield (field number, value) of a protobuf message; length-delimited values as bytes."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, value


def _entry(buf: bytes) -> dict:
    entry = {"dtype": 1, "shape": [], "shard": 0, "offset": 0, "size": 0, "crc": None}
    for number, value in _fields(buf):
        if number == 1:
            entry["dtype"] = value
        elif number == 2:
            for dim_field, dim in _fields(value):
                if dim_field == 2:
                    entry["shape"].append(dict(_fields(dim)).get(1, 0))
        elif number == 3:
            entry["shard"] = value
        elif number == 4:
            entry["offset"] = value
        elif number == 5:
            entry["size"] = value
        elif number == 6:
            entry["crc"] = value
        elif number == 7:
            raise ValueError("sliced checkpoint variables are not supported")
    return entry


def _crc32c(data: bytes) -> int:
    table = _crc32c.table  # type: ignore[attr-defined]
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _make_crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_crc32c.table = _make_crc_table()  # type: ignore[attr-defined]


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_checkpoint(prefix: str | Path, verify_crc: bool = True) -> dict[str, np.ndarray]:
    """All variables of the checkpoint `prefix` (the path without .index/.data-*)."""
    prefix = str(prefix)
    index = Path(prefix + ".index").read_bytes()
    magic = struct.unpack_from("<Q", index, len(index) - 8)[0]
    if magic != _TABLE_MAGIC:
        raise ValueError(f"{prefix}.index is not a TensorFlow checkpoint index")
    footer = index[-48:]
    _, pos = _varint(footer, 0)  # metaindex offset
    _, pos = _varint(footer, pos)  # metaindex size
    index_handle = footer[pos:]
    shards: dict[int, bytes] = {}
    num_shards = 1
    tensors: dict[str, np.ndarray] = {}
    for _, data_handle in _block_entries(_read_block(index, index_handle)):
        for key, value in _block_entries(_read_block(index, data_handle)):
            if not key:  # the bundle header: field 1 is the number of shards
                num_shards = dict(_fields(value)).get(1, 1)
                continue
            entry = _entry(value)
            if entry["dtype"] not in _DTYPES:
                continue  # strings and other types are not model weights
            if entry["shard"] not in shards:
                shard_path = f"{prefix}.data-{entry['shard']:05d}-of-{num_shards:05d}"
                shards[entry["shard"]] = Path(shard_path).read_bytes()
            raw = shards[entry["shard"]][entry["offset"] : entry["offset"] + entry["size"]]
            if verify_crc and entry["crc"] is not None and _masked_crc(raw) != entry["crc"]:
                raise ValueError(f"checksum mismatch for {key.decode()}")
            array = np.frombuffer(raw, dtype=_DTYPES[entry["dtype"]])
            tensors[key.decode()] = array.reshape(entry["shape"]).copy()
    return tensors
