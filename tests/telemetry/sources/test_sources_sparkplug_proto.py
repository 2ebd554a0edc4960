"""Our Sparkplug B schema: the .proto parser, field numbers per the specification, wire bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.telemetry.sources.sparkplug.client import (
    MESSAGES,
    Metric,
    Payload,
    SparkplugError,
    decode_payload,
    encode_payload,
)
from lighthouse_os.telemetry.sources.sparkplug.protofile import (
    ProtoSyntaxError,
    load_messages,
    parse_proto,
)

# Field numbers as printed in the Sparkplug 3.0 specification, §6.4 (Payload and Metric).
SPEC_FIELDS = {
    "Payload": {"timestamp": 1, "metrics": 2, "seq": 3, "uuid": 4, "body": 5},
    "Metric": {
        "name": 1,
        "alias": 2,
        "timestamp": 3,
        "datatype": 4,
        "is_historical": 5,
        "is_transient": 6,
        "is_null": 7,
        "metadata": 8,
        "properties": 9,
        "int_value": 10,
        "long_value": 11,
        "float_value": 12,
        "double_value": 13,
        "boolean_value": 14,
        "string_value": 15,
        "bytes_value": 16,
        "dataset_value": 17,
        "template_value": 18,
        "extension_value": 19,
    },
    "DataSet": {"num_of_columns": 1, "columns": 2, "types": 3, "rows": 4},
    "PropertyValue": {"type": 1, "is_null": 2, "int_value": 3, "propertysets_value": 10},
    "Template": {"version": 1, "metrics": 2, "parameters": 3, "template_ref": 4},
}


@pytest.mark.parametrize("message", sorted(SPEC_FIELDS))
def test_sparkplug_schema_field_numbers_match_the_specification(message: str) -> None:
    fields = {f.name: f.number for f in MESSAGES[message].DESCRIPTOR.fields}
    assert {k: fields.get(k) for k in SPEC_FIELDS[message]} == SPEC_FIELDS[message]


def test_sparkplug_metric_value_fields_form_one_oneof() -> None:
    oneof = MESSAGES["Metric"].DESCRIPTOR.oneofs_by_name["value"]
    assert [f.number for f in oneof.fields] == list(range(10, 20))


def test_sparkplug_payload_encodes_to_hand_computed_wire_bytes() -> None:
    payload = Payload(
        timestamp_ms=1,
        seq=3,
        metrics=(Metric(name="a", alias=2, datatype=10, value=1.5, value_field="double_value"),),
    )
    metric = bytes.fromhex("0a01611002200a69000000000000f83f")
    expected = (
        bytes.fromhex("0801") + b"\x12" + bytes([len(metric)]) + metric + bytes.fromhex("1803")
    )
    assert encode_payload(payload) == expected
    assert decode_payload(expected) == payload


_metric = st.builds(
    Metric,
    name=st.none() | st.text(max_size=20),
    alias=st.none() | st.integers(0, 2**64 - 1),
    timestamp_ms=st.none() | st.integers(0, 2**63),
    datatype=st.none() | st.integers(0, 34),
    is_historical=st.booleans(),
    is_transient=st.booleans(),
).flatmap(
    lambda m: st.one_of(
        st.just(m),
        st.integers(0, 2**32 - 1).map(lambda v: _with(m, v, "int_value")),
        st.integers(0, 2**64 - 1).map(lambda v: _with(m, v, "long_value")),
        st.floats(allow_nan=False).map(lambda v: _with(m, v, "double_value")),
        st.booleans().map(lambda v: _with(m, v, "boolean_value")),
        st.text().map(lambda v: _with(m, v, "string_value")),
    )
)


def _with(metric: Metric, value: object, value_field: str) -> Metric:
    return Metric(
        metric.name,
        metric.alias,
        metric.timestamp_ms,
        metric.datatype,
        value,
        value_field,
        is_historical=metric.is_historical,
        is_transient=metric.is_transient,
    )


@given(
    timestamp_ms=st.none() | st.integers(0, 2**63),
    seq=st.none() | st.integers(0, 255),
    metrics=st.lists(_metric, max_size=5),
)
def test_sparkplug_payload_round_trips(
    timestamp_ms: int | None, seq: int | None, metrics: list[Metric]
) -> None:
    payload = Payload(timestamp_ms, seq, tuple(metrics))
    assert decode_payload(encode_payload(payload)) == payload


def test_sparkplug_decode_rejects_bytes_that_are_not_protobuf() -> None:
    with pytest.raises(SparkplugError, match="not a Sparkplug B payload"):
        decode_payload(b"\x12\xff\xff")


NESTED = """
syntax = "proto2";
package t;
message Outer {
  message Inner { optional int32 x = 1; }
  repeated Inner items = 1;  // resolved to .t.Outer.Inner
  optional Leaf leaf = 2;
  extensions 10 to 20;
}
message Leaf { optional string s = 1; }
"""


def test_proto_parser_resolves_nested_and_top_level_types() -> None:
    proto = parse_proto(NESTED, "t.proto")
    outer = proto.message_type[0]
    assert [f.type_name for f in outer.field] == [".t.Outer.Inner", ".t.Leaf"]
    assert (outer.extension_range[0].start, outer.extension_range[0].end) == (10, 21)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('syntax = "proto3"; message A { optional int32 x = 1; }', "only proto2"),
        ('syntax = "proto2"; enum E { A = 0; }', "unsupported top-level statement 'enum'"),
        ('syntax = "proto2"; message A { map x = 1; }', "unsupported statement 'map'"),
        ('syntax = "proto2"; message A { optional B b = 1; }', "unknown type 'B'"),
        ('syntax = "proto2";\nmessage A { optional int32 x = one; }', "line 2: expected a number"),
        ('syntax = "proto2"; message A { optional int32 x = 1 }', "expected ';'"),
        ('syntax = "proto2"; message A { optional int32 x = 1;', "unexpected end of file"),
        ('syntax = "proto2"; message A [ ]', "unexpected character '\\['"),
    ],
)
def test_proto_parser_names_the_problem_when_syntax_is_unsupported(text: str, message: str) -> None:
    with pytest.raises(ProtoSyntaxError, match=message):
        parse_proto(text, "bad.proto")


def test_load_messages_builds_classes_from_a_file(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "t.proto"  # type: ignore[operator]
    path.write_text(NESTED, encoding="utf-8")
    classes = load_messages(path)
    leaf = classes["Leaf"](s="x")
    assert classes["Leaf"].FromString(leaf.SerializeToString()).s == "x"
