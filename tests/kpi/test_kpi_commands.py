"""Tests of the `calc` Typer commands through a small app built here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lighthouse_os.kpi.commands import calc_emissions, calc_oee, calc_power_factor

app = typer.Typer()
app.command("oee")(calc_oee)
app.command("emissions")(calc_emissions)
app.command("power-factor")(calc_power_factor)
runner = CliRunner(env={"COLUMNS": "200"})

SHIFT: dict[str, Any] = {
    "planned": [["2025-03-03T06:00:00+07:00", "2025-03-03T14:00:00+07:00"]],
    "planned_downtime": [["2025-03-03T11:00:00+07:00", "2025-03-03T11:30:00+07:00", "meal"]],
    "states": [
        {"ts": "2025-03-03T06:00:00+07:00", "state": "setup"},
        {"ts": "2025-03-03T06:30:00+07:00", "state": "running"},
        {"ts": "2025-03-03T09:00:00+07:00", "state": "down"},
        {"ts": "2025-03-03T09:30:00+07:00", "state": "running"},
    ],
    "counts": [{"ts": "2025-03-03T10:00:00+07:00", "produced": 700, "good": 680}],
    "ideal_cycle_time_s": 30,
}


def write(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "input.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


def test_calc_oee_prints_json_with_time_elements_and_kpis(tmp_path: Path) -> None:
    result = runner.invoke(app, ["oee", "--input", write(tmp_path, SHIFT), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["time_elements"]["pbt_s"] == 27_000
    assert out["quantities"] == {"pq": 700, "gq": 680, "sq": 20, "pq_outside_pbt": 0}
    assert out["kpis"]["oee"] == pytest.approx(30 * 680 / 27_000)
    assert out["undefined"] == {}


def test_calc_oee_reports_undefined_kpis_as_null_with_reason(tmp_path: Path) -> None:
    payload = {**SHIFT, "counts": [], "states": [SHIFT["states"][0]]}
    result = runner.invoke(app, ["oee", "--input", write(tmp_path, payload), "--json"])
    out = json.loads(result.stdout)
    assert out["kpis"]["quality_ratio"] is None
    assert "PQ" in out["undefined"]["quality_ratio"]


def test_calc_oee_prints_bilingual_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["oee", "--input", write(tmp_path, SHIFT)])
    assert result.exit_code == 0
    assert "Độ khả dụng" in result.stdout
    assert "75.6%" in result.stdout
    assert "lần hỏng 1" in result.stdout


def test_calc_oee_table_marks_undefined_kpis(tmp_path: Path) -> None:
    payload = {**SHIFT, "counts": []}
    result = runner.invoke(app, ["oee", "--input", write(tmp_path, payload)])
    assert "—" in result.stdout
    assert "sản lượng đã sản xuất (PQ) bằng 0" in result.stdout


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "Invalid JSON"),
        ({**SHIFT, "states": [{"ts": "2025-03-03T06:00:00", "state": "running"}]}, "states.0.ts"),
        ({**SHIFT, "states": [{"ts": "2025-03-03T06:00:00+07:00", "state": "nap"}]}, "'nap'"),
        ({**SHIFT, "ideal_cycle_time_s": 0}, "ideal_cycle_time_s"),
        ({**SHIFT, "counts": [{"ts": SHIFT["states"][0]["ts"], "produced": 1, "good": 2}]}, "good"),
        ({**SHIFT, "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"extra": 1}, "(+3 more"),
    ],
)
def test_calc_oee_bad_input_exits_2_with_one_line(
    tmp_path: Path, payload: object, message: str
) -> None:
    result = runner.invoke(app, ["oee", "--input", write(tmp_path, payload)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_calc_oee_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["oee", "--input", str(tmp_path / "nope.json")])
    assert result.exit_code == 2


def test_calc_emissions_json_names_the_factor_used() -> None:
    args = ["emissions", "--kwh", "1000", "--fuel", "diesel", "--amount", "100", "--json"]
    result = runner.invoke(app, args)
    out = json.loads(result.stdout)
    grid = out["scope2_location"]["factor"]
    assert (grid["year"], grid["value"], grid["status"]) == (2023, 0.6592, "official")
    assert out["scope2_location"]["t_co2e"] == pytest.approx(0.6592)
    assert out["scope1"]["lines"][0]["t_co2e"] == pytest.approx(0.26853)
    assert out["total_location_t_co2e"] == pytest.approx(0.6592 + 0.26853)


def test_calc_emissions_shows_status_of_an_estimated_year() -> None:
    result = runner.invoke(app, ["emissions", "--kwh", "1000", "--year", "2024", "--json"])
    assert json.loads(result.stdout)["scope2_location"]["factor"]["status"] == "research-estimate"


def test_calc_emissions_market_based_uses_contract_factor() -> None:
    args = ["emissions", "--kwh", "1000", "--covered-kwh", "400", "--json"]
    market = json.loads(runner.invoke(app, args).stdout)["scope2_market"]
    assert market["t_co2e"] == pytest.approx(0.6 * 0.6592)
    assert market["contract_t_co2_per_mwh"] == 0


def test_calc_emissions_prints_table() -> None:
    args = ["emissions", "--kwh", "1000", "--fuel", "lpg", "--amount", "10"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "theo vị trí" in result.stdout
    assert "Department of Climate Change" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kwh", "1", "--fuel", "diesel"], "one --amount for each --fuel"),
        (["--kwh", "1", "--fuel", "peat", "--amount", "2"], "unknown fuel 'peat'"),
        (["--kwh", "1", "--year", "1999"], "available years"),
        (["--kwh", "10", "--covered-kwh", "20"], "more than the 10.0 kWh"),
        (["--kwh", "-1"], "--kwh"),
    ],
)
def test_calc_emissions_bad_input_exits_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["emissions", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_calc_power_factor_json_flags_low_power_factor() -> None:
    args = ["power-factor", "--kwh", "100", "--kvarh", "80", "--active-charge-vnd", "1e6", "--json"]
    out = json.loads(runner.invoke(app, args).stdout)
    assert out["power_factor"] == pytest.approx(100 / (100**2 + 80**2) ** 0.5)
    assert out["below_threshold"] is True
    charge = out["reactive_charge"]
    assert (charge["cos_phi_looked_up"], charge["k_percent"]) == (0.78, 15.38)
    assert charge["charge_vnd"] == pytest.approx(153_800)
    assert charge["status"] == "unverified"


def test_calc_power_factor_without_bill_gives_k_only() -> None:
    out = json.loads(
        runner.invoke(app, ["power-factor", "--kwh", "1", "--kvarh", "0", "--json"]).stdout
    )
    assert (out["power_factor"], out["reactive_charge"]["k_percent"]) == (1.0, 0.0)
    assert out["reactive_charge"]["charge_vnd"] is None


def test_calc_power_factor_undefined_without_energy() -> None:
    result = runner.invoke(app, ["power-factor", "--kwh", "0", "--kvarh", "0", "--json"])
    out = json.loads(result.stdout)
    assert (out["power_factor"], out["reactive_charge"]) == (None, None)
    assert out["undefined_reason"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kwh", "100", "--kvarh", "80", "--active-charge-vnd", "1000000"], "153,800 VND"),
        (["--kwh", "100", "--kvarh", "80"], "k = 15.38 %"),
        (["--kwh", "100", "--kvarh", "10"], "cos φ = 0.995"),
        (["--kwh", "0", "--kvarh", "0"], "cos φ: —"),
    ],
)
def test_calc_power_factor_prints_text(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["power-factor", *args])
    assert result.exit_code == 0
    assert expected in result.stdout
