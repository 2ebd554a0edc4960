"""Sparkplug B datatypes as data: which payload field holds each, and how to read the value.

Codes and fields are those of the Sparkplug 3.0 specification, §6.4.16 (datatype codes) and
§6.4.4 (Metric value fields). Signed integers travel as two's complement in the unsigned
`int_value`/`long_value` fields; `value_fn` turns them back into Python ints. Types a
numeric time-series point cannot hold (datasets, templates, bytes, files, arrays) have no
`value_fn`: the source reports them as problems instead of dropping them silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _signed(bits: int) -> Callable[[object], object]:
    """Read the low `bits` bits of an unsigned field as a two's complement integer."""
    mask, half = (1 << bits) - 1, 1 << (bits - 1)

    def read(raw: object) -> object:
        value = int(raw) & mask  # type: ignore[call-overload]
        return value - (1 << bits) if value >= half else value

    return read


def _same(raw: object) -> object:
    return raw


def _as_float(raw: object) -> object:
    return float(raw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DataType:
    """One Sparkplug datatype: `field` is the Metric value field that carries it."""

    code: int
    name: str
    field: str | None
    value_fn: Callable[[object], object] | None

    @property
    def storable(self) -> bool:
        """Whether a value of this type becomes a point (numbers, booleans, text)."""
        return self.value_fn is not None


_ROWS: tuple[DataType, ...] = (
    DataType(0, "Unknown", None, None),
    DataType(1, "Int8", "int_value", _signed(8)),
    DataType(2, "Int16", "int_value", _signed(16)),
    DataType(3, "Int32", "int_value", _signed(32)),
    DataType(4, "Int64", "long_value", _signed(64)),
    DataType(5, "UInt8", "int_value", _same),
    DataType(6, "UInt16", "int_value", _same),
    DataType(7, "UInt32", "int_value", _same),
    DataType(8, "UInt64", "long_value", _same),
    DataType(9, "Float", "float_value", _as_float),
    DataType(10, "Double", "double_value", _same),
    DataType(11, "Boolean", "boolean_value", _same),
    DataType(12, "String", "string_value", _same),
    DataType(13, "DateTime", "long_value", _same),  # ms since the Unix epoch, UTC
    DataType(14, "Text", "string_value", _same),
    DataType(15, "UUID", "string_value", _same),
    DataType(16, "DataSet", "dataset_value", None),
    DataType(17, "Bytes", "bytes_value", None),
    DataType(18, "File", "bytes_value", None),
    DataType(19, "Template", "template_value", None),
    DataType(20, "PropertySet", None, None),
    DataType(21, "PropertySetList", None, None),
    *(
        DataType(code, name, "bytes_value", None)
        for code, name in enumerate(
            (
                "Int8Array",
                "Int16Array",
                "Int32Array",
                "Int64Array",
                "UInt8Array",
                "UInt16Array",
                "UInt32Array",
                "UInt64Array",
                "FloatArray",
                "DoubleArray",
                "BooleanArray",
                "StringArray",
                "DateTimeArray",
            ),
            start=22,
        )
    ),
)
DATATYPES: dict[int, DataType] = {row.code: row for row in _ROWS}
BY_NAME: dict[str, DataType] = {row.name: row for row in _ROWS}
UNKNOWN = DATATYPES[0]

# Metrics that describe the session or accept commands, not measurements (spec §6.4.2, §7.4).
BD_SEQ_METRIC = "bdSeq"
CONTROL_PREFIX = "Node Control/"
# A point we add per edge node and device: 1 online, 0 offline, 2 suspect (sequence gap).
STATE_TAG = "_state"
ONLINE, OFFLINE, SUSPECT = 1, 0, 2


def datatype(code: int) -> DataType:
    """The datatype with this code, or `UNKNOWN` for a code the specification does not define."""
    return DATATYPES.get(code, UNKNOWN)
