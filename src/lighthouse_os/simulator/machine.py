"""One simulated machine: its specification and the event-driven model of its states.

Times inside the model are integer milliseconds from the start of the simulation, so that event
order and durations are exact. `lighthouse_os.simulator.factory` drives it through the calendar.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

STATES = ("planned_stop", "running", "idle", "setup", "down")
STATE_CODES: Mapping[str, int] = MappingProxyType({name: code for code, name in enumerate(STATES)})
MS_PER_H = 3_600_000


class SimulatorConfigError(ValueError):
    """The machines, calendar or period cannot be simulated."""


@dataclass(frozen=True)
class Product:
    """A product of the product master: ideal cycle time (PRI, s/unit) and scrap share."""

    code: str
    ideal_cycle_time_s: float
    scrap_rate: float


@dataclass(frozen=True)
class PowerProfile:
    """Mean electrical load per state in kW, relative noise, and power-factor ranges."""

    running_kw: float = 45.0
    setup_kw: float = 12.0
    idle_kw: float = 9.0
    down_kw: float = 2.5
    off_kw: float = 0.8
    noise: float = 0.05
    pf_running: tuple[float, float] = (0.85, 0.95)
    pf_other: tuple[float, float] = (0.78, 0.88)

    def kw(self, state: str) -> float:
        """Mean load of `state`."""
        loads = {"running": self.running_kw, "setup": self.setup_kw, "idle": self.idle_kw}
        return loads.get(state, self.down_kw if state == "down" else self.off_kw)


@dataclass(frozen=True)
class MachineSpec:
    """One simulated machine; times in seconds, MTBF counted in running time."""

    line: str
    name: str
    products: tuple[Product, ...]
    lot_size: int = 300
    speed_factor: float = 0.92
    mtbf_s: float = 5 * 3600.0
    mttr_s: float = 20 * 60.0
    repair: Literal["exponential", "lognormal"] = "lognormal"
    repair_sigma: float = 0.6
    micro_stop_mtbf_s: float = 15 * 60.0
    micro_stop_mean_s: float = 40.0
    setup_s: float = 25 * 60.0
    power: PowerProfile = field(default_factory=PowerProfile)
    register_start_kwh: float = 0.0
    register_max_kwh: float = 999_999.9
    register_resolution_kwh: float = 0.1

    @property
    def path(self) -> str:
        """`<line>/<machine>`, the prefix of the machine's tags."""
        return f"{self.line}/{self.name}"


@dataclass(frozen=True)
class MachineTruth:
    """What the simulator itself counted: seconds per state inside busy time, events, energy."""

    seconds: Mapping[str, float]
    failures: int
    produced: int
    good: int
    kwh: float
    kvarh: float


@dataclass(frozen=True)
class Step:
    """A stretch of one state with constant load (kW) and reactive load (kvar)."""

    start: int
    end: int
    state: str
    kw: float
    kvar: float


class MachineRun:
    """The mutable state of one machine between chunks of simulated time (ms from start)."""

    def __init__(self, spec: MachineSpec, rng: random.Random) -> None:
        check_spec(spec)
        self.spec, self.rng = spec, rng
        self.product, self.lot_left = 0, spec.lot_size
        self.cycle_left = self._cycle_ms()
        self.to_failure = self._exp_ms(spec.mtbf_s)
        self.to_micro = self._exp_ms(spec.micro_stop_mtbf_s)
        self.setup_left = 0
        self.down_until: int | None = None
        self.idle_until: int | None = None
        self.seconds = dict.fromkeys(STATES, 0.0)
        self.failures = self.produced = self.good = 0
        self.kwh = self.kvarh = 0.0
        self.steps: list[Step] = []
        self.counts: list[tuple[int, bool, Product]] = []

    def _exp_ms(self, mean_s: float) -> int:
        return max(1, round(self.rng.expovariate(1.0 / mean_s) * 1000))

    def _cycle_ms(self) -> int:
        product = self.spec.products[self.product]
        jitter = max(0.5, self.rng.gauss(1.0, 0.03))
        return max(1, round(product.ideal_cycle_time_s / self.spec.speed_factor * jitter * 1000))

    def _repair_ms(self) -> int:
        spec = self.spec
        if spec.repair == "exponential":
            return self._exp_ms(spec.mttr_s)
        # Lognormal with mean MTTR: μ = ln(MTTR) − σ²/2.
        mu = math.log(spec.mttr_s) - spec.repair_sigma**2 / 2
        return max(1, round(self.rng.lognormvariate(mu, spec.repair_sigma) * 1000))

    def run_chunk(self, off_start: int, busy_start: int, busy_end: int) -> None:
        """Simulate planned-stop time [off_start, busy_start) then busy time [busy_start, end)."""
        self.steps, self.counts = [], []
        t = self._hold_down(off_start, busy_start, busy=False)
        self._record(t, busy_start, "planned_stop", busy=False)
        t = busy_start
        while t < busy_end:
            t = self._busy_step(t, busy_end)
        self.idle_until = None  # a micro-stop does not outlast the window

    def _hold_down(self, t: int, end: int, *, busy: bool) -> int:
        if self.down_until is None:
            return t
        until = min(self.down_until, end)
        self._record(t, until, "down", busy=busy)
        if self.down_until <= end:
            self.down_until = None
        return until

    def _busy_step(self, t: int, end: int) -> int:
        if self.down_until is not None:
            return self._hold_down(t, end, busy=True)
        if self.idle_until is not None:
            until = min(self.idle_until, end)
            self._record(t, until, "idle", busy=True)
            self.idle_until = None
            return until
        if self.setup_left > 0:
            until = min(t + self.setup_left, end)
            self._record(t, until, "setup", busy=True)
            self.setup_left -= until - t
            return until
        return self._run(t, end)

    def _run(self, t: int, end: int) -> int:
        dt = min(self.cycle_left, self.to_failure, self.to_micro, end - t)
        until = t + dt
        self._record(t, until, "running", busy=True)
        self.cycle_left -= dt
        self.to_failure -= dt
        self.to_micro -= dt
        if until >= end:
            return until  # counters that reached zero fire at the next window's start
        if self.cycle_left == 0:
            self._complete(until)
        elif self.to_failure == 0:
            self.down_until = until + self._repair_ms()
            self.to_failure = self._exp_ms(self.spec.mtbf_s)
            self.failures += 1
        else:  # until < end, so the micro-stop counter is the one that reached zero
            self.idle_until = until + self._exp_ms(self.spec.micro_stop_mean_s)
            self.to_micro = self._exp_ms(self.spec.micro_stop_mtbf_s)
        return until

    def _complete(self, t: int) -> None:
        product = self.spec.products[self.product]
        good = self.rng.random() >= product.scrap_rate
        self.counts.append((t, good, product))
        self.produced += 1
        self.good += int(good)
        self.lot_left -= 1
        if self.lot_left == 0:
            self.lot_left = self.spec.lot_size
            if len(self.spec.products) > 1:
                self.product = (self.product + 1) % len(self.spec.products)
                self.setup_left = max(1, round(self.spec.setup_s * 1000))
        self.cycle_left = self._cycle_ms()

    def _record(self, start: int, end: int, state: str, *, busy: bool) -> None:
        if end <= start:
            return
        power = self.spec.power
        kw = max(0.0, power.kw(state) * (1.0 + self.rng.gauss(0.0, power.noise)))
        low, high = power.pf_running if state == "running" else power.pf_other
        pf = self.rng.uniform(low, high)
        kvar = kw * math.tan(math.acos(pf))
        self.steps.append(Step(start, end, state, kw, kvar))
        hours = (end - start) / MS_PER_H
        self.kwh += kw * hours
        self.kvarh += kvar * hours
        if busy:
            self.seconds[state] += (end - start) / 1000.0

    def truth(self) -> MachineTruth:
        """The totals so far, frozen."""
        seconds = MappingProxyType(dict(self.seconds))
        return MachineTruth(seconds, self.failures, self.produced, self.good, self.kwh, self.kvarh)


def check_spec(spec: MachineSpec) -> None:
    """Raise `SimulatorConfigError` naming the first inconsistent setting of `spec`."""
    problems = [
        (not spec.products, "needs at least one product"),
        (spec.lot_size < 1, "lot_size must be >= 1"),
        (not 0 < spec.speed_factor <= 1.5, "speed_factor must be in (0, 1.5]"),
        (
            min(spec.mtbf_s, spec.mttr_s, spec.micro_stop_mtbf_s, spec.micro_stop_mean_s) <= 0,
            "MTBF, MTTR and micro-stop times must be > 0",
        ),
        (
            any(not 0 <= p.scrap_rate < 1 or p.ideal_cycle_time_s <= 0 for p in spec.products),
            "products need ideal_cycle_time_s > 0 and 0 <= scrap_rate < 1",
        ),
    ]
    for failed, message in problems:
        if failed:
            raise SimulatorConfigError(f"machine {spec.path}: {message}")
