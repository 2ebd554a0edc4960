"""Sparkplug B host logic: births, aliases, deaths, bdSeq matching and sequence checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lighthouse_os.telemetry.sources.decoder import Decoded, InboundMessage
from lighthouse_os.telemetry.sources.sparkplug import catalog
from lighthouse_os.telemetry.sources.sparkplug.client import Metric, Payload, encode_payload
from lighthouse_os.telemetry.sources.sparkplug.source import (
    SparkplugDecoder,
    SparkplugMapping,
    epoch_ms,
    load_mapping,
)

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
T0 = 1_767_600_000_000  # ms since the epoch


def m(
    name: str | None = None,
    value: object = None,
    *,
    alias: int | None = None,
    datatype: int | None = None,
    field: str | None = None,
    **flags: object,
) -> Metric:
    field = field or {
        10: "double_value",
        11: "boolean_value",
        3: "int_value",
        4: "long_value",
        12: "string_value",
        8: "long_value",
    }.get(datatype or 0)
    return Metric(
        name=name,
        alias=alias,
        datatype=datatype,
        value=value,
        value_field=field if value is not None else None,
        **flags,
    )  # type: ignore[arg-type]


def bd(value: int) -> Metric:
    return m("bdSeq", value, datatype=8)


class Host:
    """A decoder and a message builder for one group and edge node."""

    def __init__(self, group: str = "G1", edge: str = "E1", **kwargs: object) -> None:
        self.decoder = SparkplugDecoder(**kwargs)  # type: ignore[arg-type]
        self.group, self.edge = group, edge

    def send(
        self,
        kind: str,
        *metrics: Metric,
        seq: int | None = None,
        device: str | None = None,
        ts: int | None = T0,
        duplicate: bool = False,
    ) -> Decoded:
        tail = f"/{device}" if device else ""
        topic = f"spBv1.0/{self.group}/{kind}/{self.edge}{tail}"
        payload = encode_payload(Payload(timestamp_ms=ts, seq=seq, metrics=metrics))
        return self.decoder.decode(InboundMessage(topic, payload, NOW, duplicate))

    def birth(self, bd_seq: int = 0, seq: int = 0) -> Decoded:
        return self.send(
            "NBIRTH",
            bd(bd_seq),
            m("Node Control/Rebirth", False, datatype=11),
            m("Temperature", 21.5, alias=1, datatype=10),
            m("Running", True, alias=2, datatype=11),
            seq=seq,
        )

    def state(self, device: str | None = None) -> int | None:
        return self.decoder.state(self.group, self.edge, device)


def values(decoded: Decoded) -> dict[str, object]:
    return {p.tag: p.value for b in decoded.batches for p in b.points}


def reasons(decoded: Decoded) -> list[str]:
    return [p.reason for p in decoded.problems]


def test_nbirth_stores_metrics_and_marks_node_online() -> None:
    host = Host()
    decoded = host.birth()
    assert reasons(decoded) == []
    assert values(decoded) == {"E1/_state": 1, "E1/Temperature": 21.5, "E1/Running": True}
    assert decoded.batches[0].site == "G1"
    assert {p.ts for p in decoded.batches[0].points} == {epoch_ms(T0)}
    assert host.state() == catalog.ONLINE


def test_ndata_resolves_aliases_from_the_birth() -> None:
    host = Host()
    host.birth()
    metric = Metric(alias=1, timestamp_ms=T0 + 500, value=22.0, value_field="double_value")
    decoded = host.send("NDATA", metric, seq=1)
    assert reasons(decoded) == []
    [point] = decoded.batches[0].points
    assert (point.tag, point.value, point.ts) == (
        "E1/Temperature",
        22.0,
        epoch_ms(T0) + timedelta(milliseconds=500),
    )


def test_device_birth_and_data_use_device_aliases_and_tag_prefix() -> None:
    host = Host()
    host.birth()
    birth = host.send("DBIRTH", m("kwh", 5, alias=10, datatype=4), device="Press2", seq=1)
    data = host.send("DDATA", m(None, 7, alias=10, field="long_value"), device="Press2", seq=2)
    assert values(birth) == {"E1/Press2/_state": 1, "E1/Press2/kwh": 5}
    assert values(data) == {"E1/Press2/kwh": 7}
    assert host.state("Press2") == catalog.ONLINE


def test_mapping_renames_group_to_site() -> None:
    host = Host(mapping=SparkplugMapping({"G1": "hcm-01"}))
    assert host.birth().batches[0].site == "hcm-01"


def test_data_before_birth_is_a_problem_and_stores_nothing() -> None:
    host = Host()
    decoded = host.send("NDATA", m(None, 1.0, alias=1, field="double_value"), seq=1)
    assert values(decoded) == {}
    assert "without a current NBIRTH" in reasons(decoded)[0]
    assert decoded.problems[0].site == "G1"


def test_device_data_without_device_birth_is_a_problem() -> None:
    host = Host()
    host.birth()
    decoded = host.send("DDATA", m("x", 1.0, datatype=10), device="D9", seq=1)
    assert values(decoded) == {}
    assert "without a current DBIRTH" in reasons(decoded)[0]


def test_unknown_alias_is_reported_and_known_ones_are_stored() -> None:
    host = Host()
    host.birth()
    decoded = host.send(
        "NDATA",
        m(None, 1.0, alias=1, field="double_value"),
        m(None, 2.0, alias=99, field="double_value"),
        seq=1,
    )
    assert values(decoded) == {"E1/Temperature": 1.0}
    assert reasons(decoded) == ["metrics not in the birth certificate: alias 99"]


def test_sequence_gap_is_reported_data_kept_and_node_suspect_until_rebirth() -> None:
    host = Host()
    host.birth()
    decoded = host.send("NDATA", m(None, 3.0, alias=1, field="double_value"), seq=5)
    assert "expected seq 1, got 5" in reasons(decoded)[0]
    assert values(decoded) == {"E1/Temperature": 3.0, "E1/_state": catalog.SUSPECT}
    assert host.state() == catalog.SUSPECT
    assert reasons(host.send("NDATA", seq=6)) == []  # counting resumes from the gap
    host.birth(bd_seq=1)
    assert host.state() == catalog.ONLINE


def test_sequence_wraps_from_255_to_0() -> None:
    host = Host()
    host.birth(seq=254)
    assert reasons(host.send("NDATA", seq=255)) == []
    assert reasons(host.send("NDATA", seq=0)) == []
    assert host.state() == catalog.ONLINE


def test_redelivered_message_is_not_a_gap() -> None:
    host = Host()
    host.birth()
    host.send("NDATA", m(None, 1.0, alias=1, field="double_value"), seq=1)
    again = host.send("NDATA", m(None, 1.0, alias=1, field="double_value"), seq=1, duplicate=True)
    assert reasons(again) == []
    assert values(again) == {"E1/Temperature": 1.0}
    assert reasons(host.send("NDATA", seq=2)) == []


@pytest.mark.parametrize("seq", [None, 256])
def test_missing_or_out_of_range_seq_is_reported(seq: int | None) -> None:
    host = Host()
    host.birth()
    assert "is not 0..255" in reasons(host.send("NDATA", seq=seq))[0]


def test_ndeath_with_matching_bdseq_takes_node_and_devices_offline() -> None:
    host = Host()
    host.birth(bd_seq=7)
    host.send("DBIRTH", m("kwh", 5, datatype=4), device="D1", seq=1)
    decoded = host.send("NDEATH", bd(7), ts=T0 - 60_000)
    assert values(decoded) == {"E1/_state": 0, "E1/D1/_state": 0}
    assert {p.ts for p in decoded.batches[0].points} == {NOW}  # received, not the will's time
    assert (host.state(), host.state("D1")) == (catalog.OFFLINE, catalog.OFFLINE)
    assert "without a current NBIRTH" in reasons(host.send("NDATA", seq=2))[0]


def test_ndeath_with_stale_bdseq_is_ignored() -> None:
    host = Host()
    host.birth(bd_seq=8)
    decoded = host.send("NDEATH", bd(7))
    assert decoded == Decoded()
    assert host.state() == catalog.ONLINE


def test_ddeath_takes_only_the_device_offline() -> None:
    host = Host()
    host.birth()
    host.send("DBIRTH", m("kwh", 5, datatype=4), device="D1", seq=1)
    decoded = host.send("DDEATH", device="D1", seq=2)
    assert values(decoded) == {"E1/D1/_state": 0}
    assert (host.state(), host.state("D1")) == (catalog.ONLINE, catalog.OFFLINE)


def test_nbirth_without_bdseq_is_reported_but_accepted() -> None:
    host = Host()
    decoded = host.send("NBIRTH", m("x", 1.0, datatype=10), seq=0)
    assert "without an integer bdSeq" in reasons(decoded)[0]
    assert values(decoded)["E1/x"] == 1.0


def test_unsupported_datatype_is_reported_and_others_stored() -> None:
    host = Host()
    decoded = host.send(
        "NBIRTH",
        bd(0),
        m("blob", b"\x01", datatype=17, field="bytes_value"),
        m("ok", 2.0, datatype=10),
        seq=0,
    )
    assert values(decoded) == {"E1/_state": 1, "E1/ok": 2.0}
    assert reasons(decoded) == ["metric 'blob': datatype Bytes cannot be stored as a point"]


def test_value_in_wrong_field_for_datatype_is_reported() -> None:
    host = Host()
    decoded = host.send("NBIRTH", bd(0), m("x", 1, datatype=10, field="int_value"), seq=0)
    assert "datatype Double but value in int_value" in reasons(decoded)[0]


def test_null_metric_becomes_none_and_transient_metric_is_not_stored() -> None:
    host = Host()
    decoded = host.send(
        "NBIRTH",
        bd(0),
        m("n", None, datatype=10, is_null=True),
        m("t", 1.0, datatype=10, is_transient=True),
        seq=0,
    )
    assert values(decoded) == {"E1/_state": 1, "E1/n": None}


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("spBv1.0/G1/NDATA", "has 3 levels"),
        ("spBv1.0/G1/XDATA/E1", "unknown Sparkplug message type"),
        ("spBv1.0/G1/DDATA/E1", "must name a device"),
        ("spBv1.0/G1/NDATA/E1/D1", "must not name a device"),
        ("spBv1.0//NDATA/E1", "is not spBv1.0"),
    ],
)
def test_bad_topic_is_a_problem(topic: str, reason: str) -> None:
    decoded = SparkplugDecoder().decode(InboundMessage(topic, b"", NOW))
    assert reason in reasons(decoded)[0]


def test_garbage_payload_is_a_problem_with_site() -> None:
    decoded = SparkplugDecoder().decode(InboundMessage("spBv1.0/G1/NDATA/E1", b"\xff\xff", NOW))
    assert "not a Sparkplug B payload" in reasons(decoded)[0]
    assert decoded.problems[0].site == "G1"


@pytest.mark.parametrize(
    "topic", ["spBv1.0/STATE/host1", "spBv1.0/G1/NCMD/E1", "spBv1.0/G1/DCMD/E1/D1"]
)
def test_commands_and_host_state_yield_nothing(topic: str) -> None:
    assert SparkplugDecoder().decode(InboundMessage(topic, b"{}", NOW)) == Decoded()


def test_topic_filters_follow_group_option() -> None:
    assert SparkplugDecoder().topic_filters == ("spBv1.0/#",)
    assert SparkplugDecoder(group="G7").topic_filters == ("spBv1.0/G7/#",)


def test_load_mapping_reads_sites_and_rejects_other_shapes(
    tmp_path: pytest.TempPathFactory,
) -> None:
    good = tmp_path / "map.yaml"  # type: ignore[operator]
    good.write_text("sites:\n  G1: hcm-01\n", encoding="utf-8")
    assert load_mapping(good).site_for("G1") == "hcm-01"
    assert load_mapping(good).site_for("G2") == "G2"
    bad = tmp_path / "bad.yaml"  # type: ignore[operator]
    bad.write_text("sites: [G1]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 'sites:'"):
        load_mapping(bad)


@pytest.mark.parametrize(
    ("code", "raw", "expected"),
    [
        (1, 0xFF, -1),
        (1, 0xFFFFFFFF, -1),  # sign-extended by some encoders
        (1, 0x7F, 127),
        (2, 0x8000, -32768),
        (3, 0xFFFFFFFE, -2),
        (4, 2**64 - 1, -1),
        (4, 2**63 - 1, 2**63 - 1),
        (5, 255, 255),
        (7, 2**32 - 1, 2**32 - 1),
        (8, 2**64 - 1, 2**64 - 1),
        (11, True, True),
        (12, "text", "text"),
        (13, T0, T0),
    ],
)
def test_catalog_reads_values_per_datatype(code: int, raw: object, expected: object) -> None:
    value_fn = catalog.datatype(code).value_fn
    assert value_fn is not None
    assert value_fn(raw) == expected


@pytest.mark.parametrize("code", [0, 16, 17, 18, 19, 20, 21, 22, 34, 99])
def test_catalog_marks_composite_and_unknown_types_not_storable(code: int) -> None:
    assert not catalog.datatype(code).storable
