"""The `lhos ingest mqtt|opcua` command functions: option checks and the sink hook."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from lighthouse_os.errors import InvalidInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry import ingest_commands
from tests.telemetry.sources.sources_fakes import FakeSink


def test_mqtt_decoders_default_to_lhos_topics_and_add_sparkplug_on_request() -> None:
    decoders = ingest_commands.mqtt_decoders(sparkplug=True, sparkplug_group="G1")
    assert [d.source for d in decoders] == ["mqtt", "sparkplug"]
    assert [f for d in decoders for f in d.topic_filters] == ["lhos/#", "spBv1.0/G1/#"]


def test_mqtt_decoders_refuse_an_empty_subscription() -> None:
    with pytest.raises(InvalidInput, match="nothing to subscribe to"):
        ingest_commands.mqtt_decoders(lhos_topics=False)


def test_mqtt_decoders_report_a_bad_sparkplug_map(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("sites: 3\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="expected 'sites:'"):
        ingest_commands.mqtt_decoders(sparkplug=True, sparkplug_map=bad)


def test_mqtt_options_refuse_sparkplug_behind_a_shared_group() -> None:
    decoders = ingest_commands.mqtt_decoders(sparkplug=True)
    with pytest.raises(InvalidInput, match="drop --shared-group"):
        ingest_commands.build_mqtt_options("mqtt://h", "c", decoders, shared_group="g")


def test_mqtt_options_subscribe_shared_filters() -> None:
    decoders = ingest_commands.mqtt_decoders(sites=["s1"])
    options = ingest_commands.build_mqtt_options("mqtt://h", "c", decoders, shared_group="g")
    assert options.subscriptions() == ("$share/g/lhos/s1/#",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"receive_maximum": 0}, "receive_maximum"), ({"queue_capacity": 1}, "queue_capacity")],
)
def test_mqtt_options_report_bad_tuning(kwargs: dict[str, int], message: str) -> None:
    decoders = ingest_commands.mqtt_decoders()
    with pytest.raises(InvalidInput, match=message):
        ingest_commands.build_mqtt_options("mqtt://h", "c", decoders, **kwargs)  # type: ignore[arg-type]


def test_mqtt_options_report_a_bad_url() -> None:
    from lighthouse_os.telemetry.sources.mqtt.client import BrokerAddress, BrokerUrlError

    with pytest.raises(BrokerUrlError, match="not an MQTT URL"):
        BrokerAddress.from_url("http://h")
    assert BrokerAddress.from_url("mqtts://u:p%40ss@h") == BrokerAddress(
        "h", 8883, True, "u", "p@ss"
    )


def test_ingest_mqtt_needs_a_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LHOS_MQTT_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    with pytest.raises(InvalidInput, match="no broker"):
        ingest_commands.ingest_mqtt(url=None, data_dir=tmp_path)


def test_ingest_opcua_reports_a_bad_map(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("nodes: []\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="'nodes' is empty"):
        ingest_commands.ingest_opcua(endpoint="opc.tcp://h:4840", map_file=bad)
    with pytest.raises(InvalidInput, match="No such file"):
        ingest_commands.ingest_opcua(endpoint="opc.tcp://h:4840", map_file=tmp_path / "none.yaml")


def test_open_sink_uses_the_hook_when_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeSink()
    monkeypatch.setattr(ingest_commands, "SINK_FACTORY", lambda _settings: fake)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert ingest_commands.open_sink(settings) is fake


def test_stop_on_signals_calls_stop_and_restores_handlers() -> None:
    calls: list[int] = []
    before = signal.getsignal(signal.SIGTERM)
    with ingest_commands.stop_on_signals(lambda: calls.append(1)):
        os.kill(os.getpid(), signal.SIGTERM)
    assert calls == [1]
    assert signal.getsignal(signal.SIGTERM) is before
