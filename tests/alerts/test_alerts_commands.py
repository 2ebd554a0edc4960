"""`lhos alerts run|backtest|list|train` against a real data folder."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from lighthouse_os.alerts import rulebook
from lighthouse_os.alerts.schemas import DetectorIn, RuleIn
from lighthouse_os.cli import run
from tests.alerts.conftest import T0, Plant, machine_data
from tests.support import TEST_SECRET


@pytest.fixture
def cli_plant(plant: Plant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Plant:
    monkeypatch.setenv("LHOS_DATA_DIR", str(plant.settings.data_dir))
    monkeypatch.setenv("LHOS_SECRET_KEY", TEST_SECRET)
    monkeypatch.chdir(tmp_path)  # no stray .env
    machine_data(plant, T0, 360)
    machine_data(plant, T0 + timedelta(minutes=60), 60)
    machine_data(plant, T0 + timedelta(minutes=70), 60, broken=True)
    machine_data(plant, T0 + timedelta(minutes=80), 60)
    return plant


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    assert run([*argv, "--json"]) == 0
    return orjson.loads(capsys.readouterr().out)


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _rule(plant: Plant, **fields: object) -> None:
    with plant.sessions() as session:
        data = RuleIn.model_validate(fields)
        rulebook.create_rule(session, plant.site(session), data, actor=plant.actor(session))


def test_backtest_lists_rule_and_detector_alerts_over_history(
    cli_plant: Plant, capsys: pytest.CaptureFixture[str]
) -> None:
    _rule(cli_plant, name="Hot", kind="threshold", tag="line-1/press-1/temperature_c", limit=75)
    argv = ["alerts", "backtest", "--site", "a1", "--machine", "line-1/press-1"]
    window = ["--from", _at(60), "--to", _at(90), "--train-from", _at(0), "--train-to", _at(60)]
    records = _json([*argv, *window], capsys)
    assert isinstance(records, list)
    assert {r["rule"] for r in records} == {"rule:1", "pca_t2q"}
    assert all(set(r) == {"start", "end", "rule", "signals", "score"} for r in records)
    # The fault: the strongest PCA alert, naming the temperature first (the untuned default
    # detector also blips for single rows at α = 0.01).
    pca = max((r for r in records if r["rule"] == "pca_t2q"), key=lambda r: r["score"])
    assert pca["signals"][0] == "temperature_c"
    assert (pca["start"], pca["end"]) == (_at(70), _at(80))
    assert pca["score"] > 10
    (hot,) = [r for r in records if r["rule"] == "rule:1"]
    assert hot["signals"] == ["line-1/press-1/temperature_c"]
    assert _at(70) <= hot["start"] < _at(71)


def test_backtest_uses_the_machine_detectors_when_configured(
    cli_plant: Plant, capsys: pytest.CaptureFixture[str]
) -> None:
    with cli_plant.sessions() as session:
        data = DetectorIn(
            name="flow", machine="line-1/press-1", kind="ewma", columns=["temperature_c"], width=4
        )
        rulebook.create_detector(
            session, cli_plant.site(session), data, actor=cli_plant.actor(session)
        )
    argv = ["alerts", "backtest", "--site", "a1", "--machine", "line-1/press-1"]
    records = _json([*argv, "--from", _at(60), "--to", _at(90)], capsys)  # trains on rows before
    assert {(r["rule"], tuple(r["signals"])) for r in records} == {  # type: ignore[index]
        ("detector:1", ("temperature_c",))
    }
    # EWMA on this slowly swinging signal also alarms outside the fault; the fault is caught.
    assert any(_at(70) <= r["start"] < _at(72) for r in records)  # type: ignore[index]


def test_backtest_needs_both_training_bounds(
    cli_plant: Plant, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["alerts", "backtest", "--site", "a1", "--machine", "line-1/press-1"]
    code = run([*argv, "--from", _at(60), "--to", _at(90), "--train-from", _at(0)])
    assert code == 1
    assert "--train-to" in capsys.readouterr().err


def test_run_once_then_list(cli_plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    _rule(cli_plant, name="Hot", kind="threshold", tag="line-1/press-1/temperature_c", limit=75)
    assert run(["alerts", "run", "--once"]) == 0
    assert "1 site(s)" in capsys.readouterr().out
    # The engine looks back 15 minutes from now, long after these 2025 points: nothing yet.
    assert _json(["alerts", "list", "--site", "a1", "--status", "all"], capsys) == []


def test_train_command_fits_a_detector(
    cli_plant: Plant, capsys: pytest.CaptureFixture[str]
) -> None:
    with cli_plant.sessions() as session:
        data = DetectorIn(name="press", machine="line-1/press-1", resolution="raw")
        rulebook.create_detector(
            session, cli_plant.site(session), data, actor=cli_plant.actor(session)
        )
    found = _json(
        ["alerts", "train", "--site", "a1", "--detector", "1", "--from", _at(0), "--to", _at(60)],
        capsys,
    )
    assert found["fitted_columns"] == ["current_a", "power_kw", "temperature_c"]  # type: ignore[index]
