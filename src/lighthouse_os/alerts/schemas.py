"""API shapes of alerts: rules, detectors and channels in (`…In`) and everything out (`…Public`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

RuleKind = Literal["threshold", "rate", "absence", "kpi"]
RuleScope = Literal["tag", "machine", "asset_type"]
SeverityName = Literal["info", "warning", "critical"]
KpiName = Literal["oee", "availability", "performance", "quality", "power_factor"]
DetectorKindName = Literal["pca_t2q", "robust_z", "ewma"]
Resolution = Literal["raw", "1m", "1h"]


def _as_utc(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; everything this feature stores is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


Instant = Annotated[datetime, AfterValidator(_as_utc)]

# Which parameters each rule kind keeps (others sent along are ignored).
RULE_PARAMS: dict[str, tuple[str, ...]] = {
    "threshold": ("limit", "direction", "hysteresis", "min_duration_s"),
    "rate": ("limit", "per_s", "over_s", "trend", "hysteresis", "min_duration_s"),
    "absence": ("max_silence_s",),
    "kpi": ("kpi", "period", "periods", "limit", "direction", "hysteresis"),
}
DETECTOR_PARAMS = (
    "explained_variance",
    "alpha",
    "threshold",
    "lam",
    "width",
    "sensitivity",
    "smoothing",
    "persistence",
    "clear_level",
    "seasonal",
    "resolution",
)


class RuleIn(BaseModel):
    """A rule: what to watch (scope) and when to raise (kind and its parameters).

    Scopes: `tag` (one tag by path), `machine` (a machine by path: KPI rules) or `asset_type`
    (every machine of that type; non-KPI rules watch each machine's tag named `tag_key`).
    """

    name: str = Field(min_length=1, max_length=200, examples=["Press power above 150 kW"])
    kind: RuleKind
    scope: RuleScope = "tag"
    tag: str | None = Field(default=None, examples=["line-1/press-1/power_kw"])
    machine: str | None = Field(default=None, examples=["line-1/press-1"])
    asset_type: str = Field(default="", max_length=64, examples=["press"])
    tag_key: str = Field(default="", max_length=64, examples=["power_kw"])
    severity: SeverityName = "warning"
    enabled: bool = True
    limit: float | None = Field(default=None, allow_inf_nan=False)
    direction: Literal["above", "below"] | None = None
    hysteresis: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    min_duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    per_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    over_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    trend: Literal["rise", "fall", "either"] = "either"
    max_silence_s: float = Field(default=600.0, gt=0, allow_inf_nan=False)
    kpi: KpiName | None = None
    period: Literal["hour", "shift"] = "hour"
    periods: int = Field(default=1, ge=1, le=168)

    @model_validator(mode="after")
    def _complete(self) -> RuleIn:
        problems: dict[str, str] = {}
        if self.kind != "absence" and self.limit is None:
            problems["limit"] = "required for this kind of rule"
        if self.kind == "kpi" and self.kpi is None:
            problems["kpi"] = "required for a KPI rule"
        if self.kind == "kpi" and self.period == "shift" and self.periods != 1:
            problems["periods"] = "a shift rule looks at one shift"
        if self.kind == "kpi" and self.scope == "tag":
            problems["scope"] = "a KPI rule watches a machine or an asset type"
        if self.kind != "kpi" and self.scope == "machine":
            problems["scope"] = "use scope tag, or asset_type with tag_key"
        if problems:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in problems.items()))
        return self

    def params(self) -> dict[str, Any]:
        """The parameters the rule's kind uses, with the kind's default direction."""
        values = self.model_dump()
        if values["direction"] is None:
            values["direction"] = "below" if self.kind == "kpi" else "above"
        return {k: values[k] for k in RULE_PARAMS[self.kind]}


class RulePublic(BaseModel):
    """A stored rule; `series` are what it watches now (an asset-type rule grows with the site)."""

    id: int
    name: str
    kind: str
    scope: str
    tag: str | None
    machine: str | None
    asset_type: str
    tag_key: str
    severity: str
    enabled: bool
    params: dict[str, Any]
    series: list[str]


class DetectorIn(BaseModel):
    """An anomaly detector of one machine, trained on the reference period [train_from, train_to).

    `columns` are tag keys of the machine (empty: every gauge tag). `sensitivity` multiplies
    the score before it is compared with the limit (2 halves every limit).
    """

    name: str = Field(min_length=1, max_length=200, examples=["Press 1 multivariate"])
    machine: str = Field(examples=["line-1/press-1"])
    kind: DetectorKindName = "pca_t2q"
    columns: list[str] = Field(default_factory=list, examples=[["power_kw", "temperature_c"]])
    severity: SeverityName = "warning"
    enabled: bool = True
    train_from: AwareDatetime | None = None
    train_to: AwareDatetime | None = None
    explained_variance: float = Field(default=0.9, gt=0, le=1)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    threshold: float = Field(default=3.5, gt=0)
    lam: float = Field(default=0.1, gt=0, le=1)
    width: float = Field(default=3.0, gt=0)
    sensitivity: float = Field(default=1.0, gt=0, le=100)
    smoothing: int = Field(default=1, ge=1, le=1000)
    persistence: int = Field(default=1, ge=1, le=1000)
    clear_level: float = Field(default=1.0, ge=0, le=1)
    seasonal: bool = False
    resolution: Resolution = "1m"

    def params(self) -> dict[str, Any]:
        values = self.model_dump()
        return {k: values[k] for k in DETECTOR_PARAMS}


class TrainIn(BaseModel):
    """A new reference period; omitted bounds keep the stored ones."""

    train_from: AwareDatetime | None = None
    train_to: AwareDatetime | None = None


class DetectorPublic(BaseModel):
    """A stored detector: configuration, reference period and what the fit found."""

    id: int
    name: str
    machine: str
    kind: str
    columns: list[str]
    severity: str
    enabled: bool
    params: dict[str, Any]
    train_from: Instant | None
    train_to: Instant | None
    trained_at: Instant | None
    scored_until: Instant | None
    fitted_columns: list[str]


class ChannelIn(BaseModel):
    """A notification channel: a webhook URL (POST JSON) or e-mail recipients over SMTP."""

    name: str = Field(min_length=1, max_length=120, examples=["Maintenance team"])
    kind: Literal["webhook", "email"]
    url: str | None = Field(default=None, examples=["https://hooks.example.vn/lhos"])
    recipients: list[str] = Field(default_factory=list, examples=[["bao.tri@example.vn"]])
    smtp_host: str = Field(default="127.0.0.1", max_length=200)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(default="lighthouse-os@localhost", max_length=254)
    smtp_starttls: bool = False
    min_severity: SeverityName = "warning"
    enabled: bool = True

    @model_validator(mode="after")
    def _target(self) -> ChannelIn:
        if self.kind == "webhook" and not (self.url or "").startswith(("http://", "https://")):
            raise ValueError("url: a webhook needs an http:// or https:// URL")
        if self.kind == "email" and not all("@" in r for r in self.recipients or [""]):
            raise ValueError("recipients: give at least one e-mail address")
        return self

    def config(self) -> dict[str, Any]:
        if self.kind == "webhook":
            return {"url": self.url}
        return {
            "recipients": list(self.recipients),
            "host": self.smtp_host,
            "port": self.smtp_port,
            "sender": self.smtp_sender,
            "starttls": self.smtp_starttls,
        }


class ChannelPublic(BaseModel):
    id: int
    name: str
    kind: str
    config: dict[str, Any]
    min_severity: str
    enabled: bool


class DeliveryPublic(BaseModel):
    """One entry of the delivery log."""

    id: int
    channel_id: int
    alert_id: int
    event: str
    status: str
    attempts: int
    last_error: str
    created_at: Instant
    next_attempt_at: Instant
    sent_at: Instant | None


class CommentPublic(BaseModel):
    author: str
    at: Instant
    text: str


class AlertPublic(BaseModel):
    """An alert; `signals` are the tags that contributed most (detectors) or the series (rules).

    `title` and `detail` of an environmental alert are in the request's language (`?lang=`)."""

    id: int
    title: str
    detail: str | None = Field(
        default=None, description="what an environmental alert found, in the request's language"
    )
    source: Literal["rule", "detector", "environment"]
    rule_id: int | None
    detector_id: int | None
    series: str
    severity: str
    status: str
    value: float | None
    opened_at: Instant
    last_raised_at: Instant
    occurrences: int
    signals: list[str]
    assignee: str | None
    acknowledged_at: Instant | None
    acknowledged_by: str | None
    resolved_at: Instant | None
    resolved_by: str | None
    flapping: bool


class AlertDetail(AlertPublic):
    comments: list[CommentPublic]


class AssignIn(BaseModel):
    """The assignee's e-mail (a user of the site's organisation); null clears it."""

    assignee: str | None = Field(default=None, examples=["member@a.vn"])


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ResolveIn(BaseModel):
    note: str | None = Field(default=None, max_length=4000)
