"""Pydantic inputs of the environment use cases: air stations and monitoring stations."""

from __future__ import annotations

import re
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lighthouse_os.environment.scale import POLLUTANTS, Pollutant
from lighthouse_os.errors import InvalidInput

StationKind = Literal["urban", "roadside", "industrial", "background"]
MonitoringKind = Literal["wastewater", "stack"]
# `<Province>_<Facility>_<NUO|KHI><3 digits>`, as in the Circular 10/2021 file names.
MONITORING_CODE = re.compile(
    r"^(?P<province>[^_\s]+)_(?P<facility>\S+)_(?P<station>(NUO|KHI)\d{3})$", re.IGNORECASE
)
KIND_PREFIX = {"wastewater": "NUO", "stack": "KHI"}
M = TypeVar("M", bound=BaseModel)


class AirStationInput(BaseModel):
    """A new ambient air station: it becomes a site of the program with one tag per pollutant."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    district: str = Field(default="", max_length=120)
    park: str = Field(default="", max_length=120)
    operator: str = Field(default="", max_length=200)
    kind: StationKind = "urban"
    parameters: tuple[Pollutant, ...] = POLLUTANTS

    @field_validator("parameters")
    @classmethod
    def _pm_and_unique(cls, value: tuple[Pollutant, ...]) -> tuple[Pollutant, ...]:
        if not {"pm25", "pm10"} & set(value):
            raise ValueError("VN_AQI needs PM2.5 or PM10 among the parameters")
        return tuple(p for p in POLLUTANTS if p in value)


class MonitoringStationInput(BaseModel):
    """A continuous-monitoring station whose files the receiver accepts (Circular 10/2021)."""

    model_config = ConfigDict(frozen=True)

    code: str
    site: str = Field(min_length=1)
    kind: MonitoringKind
    column: Literal["A", "B"] = "B"
    kq: float | None = Field(default=None, gt=0)
    kf: float | None = Field(default=None, gt=0)
    kp: float | None = Field(default=None, gt=0)
    kv: float | None = Field(default=None, gt=0)
    interval_s: int = Field(default=300, ge=60, le=86400)
    tag_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        if not MONITORING_CODE.match(value.strip()):
            raise ValueError("use <Province>_<Facility>_<NUO|KHI><3 digits>, e.g. HCM_ABC_NUO001")
        return value.strip()

    @model_validator(mode="after")
    def _kind_rules(self) -> Self:
        station = self.code.rsplit("_", 1)[-1]
        if not station.upper().startswith(KIND_PREFIX[self.kind]):
            raise ValueError(f"a {self.kind} station code ends in {KIND_PREFIX[self.kind]}###")
        if self.kind == "wastewater" and (self.kp is not None or self.kv is not None):
            raise ValueError("Kp and Kv apply to stack gas (QCVN 19); use Kq and Kf for water")
        if self.kind == "stack" and (self.kq is not None or self.kf is not None):
            raise ValueError("Kq and Kf apply to wastewater (QCVN 40); use Kp and Kv for stacks")
        if self.kind == "stack" and self.column != "B":
            raise ValueError("stack gas is compared with QCVN 19:2009 column B")
        return self

    @property
    def factor(self) -> float:
        """Kq × Kf (wastewater) or Kp × Kv (stack); a coefficient not given counts as 1."""
        pair = (self.kq, self.kf) if self.kind == "wastewater" else (self.kp, self.kv)
        return (pair[0] or 1.0) * (pair[1] or 1.0)


def parse_input(model: type[M], data: dict[str, object]) -> M:
    """Validate `data` into `model`; InvalidInput names every field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        fields = {
            ".".join(str(p) for p in e["loc"]) or "input": e["msg"].removeprefix("Value error, ")
            for e in err.errors()
        }
        raise InvalidInput(
            "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields
        ) from err
