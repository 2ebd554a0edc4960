"""Typer commands `lhos calc oee|emissions|power-factor`: parse, calculate, print table or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from lighthouse_os.kpi.calculators import evaluate_emissions, evaluate_oee, evaluate_power_factor
from lighthouse_os.kpi.emissions import FuelUse
from lighthouse_os.kpi.schemas import EmissionsOutput, OeeInput, OeeOutput, PowerFactorOutput

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON / In kết quả dạng JSON.")]

KPI_LABELS = {
    "availability": "Availability / Độ khả dụng",
    "effectiveness": "Effectiveness / Hiệu suất",
    "quality_ratio": "Quality ratio / Tỷ lệ chất lượng",
    "oee": "OEE / Hiệu suất thiết bị tổng thể",
    "scrap_ratio": "Scrap ratio / Tỷ lệ phế phẩm",
    "throughput_per_h": "Throughput, units/h / Năng suất, sản phẩm/giờ",
    "setup_ratio": "Setup ratio / Tỷ lệ thời gian chuyển đổi",
    "mtbf_s": "MTBF, s / Thời gian trung bình giữa hai lần hỏng, giây",
    "mttr_s": "MTTR, s / Thời gian sửa chữa trung bình, giây",
}
RATIOS = {"availability", "effectiveness", "quality_ratio", "oee", "scrap_ratio", "setup_ratio"}
TIME_LABELS = {
    "pot_s": "POT / Thời gian vận hành theo kế hoạch",
    "pdot_s": "PDOT / Thời gian dừng theo kế hoạch",
    "pbt_s": "PBT / Thời gian bận theo kế hoạch",
    "apt_s": "APT / Thời gian sản xuất thực tế",
    "aust_s": "AUST / Thời gian chuyển đổi thực tế",
    "adet_s": "ADET / Thời gian chờ thực tế",
    "adot_s": "ADOT / Thời gian dừng máy do sự cố",
    "unaccounted_s": "Unaccounted / Không có dữ liệu trạng thái",
}


def calc_oee(
    input_file: Annotated[
        Path,
        typer.Option(
            "--input",
            exists=True,
            dir_okay=False,
            readable=True,
            help="JSON input (see docs/kpi/oee-input.schema.json) / Tệp JSON đầu vào.",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """ISO 22400-2 OEE from a shift calendar, machine states and counts / Tính OEE."""
    try:
        output = evaluate_oee(OeeInput.model_validate_json(input_file.read_bytes()))
    except ValueError as err:
        _fail(err)
    if as_json:
        _print_json(output)
    else:
        _print_oee(output)


def calc_emissions(
    kwh: Annotated[float, typer.Option("--kwh", min=0, help="Electricity, kWh / Điện năng.")],
    year: Annotated[
        int | None, typer.Option("--year", help="Grid factor year / Năm của hệ số lưới điện.")
    ] = None,
    fuel: Annotated[
        list[str] | None, typer.Option("--fuel", help="Fuel burned on site / Nhiên liệu.")
    ] = None,
    amount: Annotated[
        list[float] | None, typer.Option("--amount", help="Fuel amount, one per --fuel.")
    ] = None,
    covered_kwh: Annotated[
        float, typer.Option("--covered-kwh", min=0, help="kWh under contracts/certificates.")
    ] = 0.0,
    contract_factor: Annotated[
        float, typer.Option("--contract-factor", min=0, help="Their factor, tCO2/MWh (0 = REC).")
    ] = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """GHG Protocol Scope 1 and 2 emissions in tCO2e / Phát thải khí nhà kính phạm vi 1 và 2."""
    fuels, amounts = fuel or [], amount or []
    if len(fuels) != len(amounts):
        _fail(ValueError("give one --amount for each --fuel"))
    try:
        output = evaluate_emissions(
            kwh=kwh,
            year=year,
            fuels=[FuelUse(f, a) for f, a in zip(fuels, amounts, strict=True)],
            covered_kwh=covered_kwh,
            contract_t_co2_per_mwh=contract_factor,
        )
    except ValueError as err:
        _fail(err)
    if as_json:
        _print_json(output)
    else:
        _print_emissions(output)


def calc_power_factor(
    kwh: Annotated[float, typer.Option("--kwh", min=0, help="Active energy / Điện năng tác dụng.")],
    kvarh: Annotated[
        float,
        typer.Option("--kvarh", min=0, help="Lagging reactive energy / Điện năng phản kháng."),
    ],
    active_charge_vnd: Annotated[
        float | None,
        typer.Option("--active-charge-vnd", min=0, help="Active-energy bill Ta, VND excl. VAT."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Power factor cos φ and the reactive-power charge rule / Hệ số công suất cos φ."""
    output = evaluate_power_factor(kwh=kwh, kvarh=kvarh, active_charge_vnd=active_charge_vnd)
    if as_json:
        _print_json(output)
    else:
        _print_power_factor(output)


def _fail(err: ValueError) -> NoReturn:
    typer.echo(f"Error / Lỗi: {_one_line(err)}", err=True)
    raise typer.Exit(code=2)


def _one_line(err: ValueError) -> str:
    if not isinstance(err, ValidationError):
        return str(err)
    errors = err.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "input"
    more = f" (+{len(errors) - 1} more / và {len(errors) - 1} lỗi khác)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _print_json(output: BaseModel) -> None:
    typer.echo(output.model_dump_json(indent=2))


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if name in RATIOS else f"{value:,.1f}"


def _print_oee(output: OeeOutput) -> None:
    kpis = Table("KPI", "Value / Giá trị", "Note / Ghi chú", title="ISO 22400-2")
    for name, value in output.kpis.model_dump().items():
        kpis.add_row(KPI_LABELS[name], _fmt(name, value), output.undefined.get(name, ""))
    times = Table("Time element / Thành phần thời gian", "s")
    for name, seconds in output.time_elements.model_dump().items():
        times.add_row(TIME_LABELS[name], f"{seconds:,.0f}")
    q = output.quantities
    console = Console()
    console.print(kpis, times)
    console.print(
        f"PQ {q.pq:g} · GQ {q.gq:g} · SQ {q.sq:g} · failures / lần hỏng {output.failures}"
    )


def _print_emissions(output: EmissionsOutput) -> None:
    table = Table("Scope / Phạm vi", "tCO2e", "Factor / Hệ số", "Status / Trạng thái")
    table.columns[3].overflow = "fold"
    for line in output.scope1.lines:
        f = line.factor
        table.add_row(
            f"1 · {line.fuel} {line.amount:g} {line.unit}",
            f"{line.t_co2e:.3f}",
            f"{f.value:g} {f.unit}",
            f.status,
        )
    loc, market = output.scope2_location, output.scope2_market
    grid = loc.factor
    table.add_row(
        "2 · location / theo vị trí",
        f"{loc.t_co2e:.3f}",
        f"{grid.value:g} {grid.unit} ({grid.year})",
        grid.status,
    )
    table.add_row(
        "2 · market / theo thị trường",
        f"{market.t_co2e:.3f}",
        f"{market.covered_kwh:g} kWh covered / có chứng chỉ",
        grid.status,
    )
    console = Console()
    console.print(table)
    console.print(f"Grid factor source / Nguồn hệ số: {grid.source}", markup=False)


def _print_power_factor(output: PowerFactorOutput) -> None:
    console = Console()
    charge = output.reactive_charge
    if output.power_factor is None or charge is None:
        console.print(f"cos φ: — ({output.undefined_reason})", markup=False)
        return
    flag = " ⚠ < 0.9" if output.below_threshold else ""
    console.print(f"cos φ = {output.power_factor:.3f}{flag}")
    amount = "" if charge.charge_vnd is None else f" → {charge.charge_vnd:,.0f} VND"
    console.print(f"k = {charge.k_percent:g} %{amount}", markup=False)
    console.print(f"Status / Trạng thái: {charge.status} · {charge.source}", markup=False)
