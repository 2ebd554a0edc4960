"""SKAB valve1 evaluation of the alert detectors: pointwise F1, FAR and MAR, written to docs.

Usage: python benchmarks/eval_skab.py PATH [--out docs/evaluations/skab.md] [--via-importer]
PATH holds `anomaly-free/anomaly-free.csv` and `valve1/*.csv` of the Skoltech Anomaly Benchmark.
With --via-importer each CSV is imported through the platform's CSV importer into a temporary
data folder and its signals are read back from the time-series store (labels from the CSV).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import platform
import re
import secrets
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lighthouse_os.alerts.detectors import (
    AlarmFilter,
    AlarmPolicy,
    BoolArray,
    EwmaChart,
    FloatArray,
    LimitMethod,
    PcaT2Q,
    drift_inflation,
)

TRAIN_ROWS = 400  # SKAB baselines fit each run on its first 400 rows (anomaly-free by design)
# Fixed before tuning: fold A (primary) tunes on runs 0–7 and reports on 8–15; fold B swaps them.
FIRST_HALF, SECOND_HALF = tuple(range(8)), tuple(range(8, 16))
LABEL_COLUMNS = ("anomaly", "changepoint")

Run = tuple[list[datetime], FloatArray, list[str], BoolArray | None]


def load_run(path: Path) -> Run:
    """One SKAB CSV (`;`, `datetime` first) -> (timestamps, matrix, columns, labels or None).

    SKAB stores local times without a zone; they are read as UTC (no detector here uses them).
    """
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], rows[1:]
    signals = [i for i, name in enumerate(header[1:], 1) if name not in LABEL_COLUMNS]
    stamps = [datetime.fromisoformat(r[0]).replace(tzinfo=UTC) for r in body]
    matrix = np.array([[float(r[i]) for i in signals] for r in body], dtype=np.float64)
    labels = None
    if "anomaly" in header:
        at = header.index("anomaly")
        labels = np.array([float(r[at]) == 1.0 for r in body], dtype=np.bool_)
    return stamps, matrix, [header[i] for i in signals], labels


# SKAB's signals and the UCUM units of their tags (accelerations are RMS in g, dimensionless).
SKAB_UNITS = {
    "Accelerometer1RMS": "1",
    "Accelerometer2RMS": "1",
    "Current": "A",
    "Pressure": "bar",
    "Temperature": "Cel",
    "Thermocouple": "Cel",
    "Voltage": "V",
    "Volume Flow RateRMS": "L/min",
}
Loader = Callable[[Path], Run]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@contextmanager
def platform_loader() -> Iterator[Loader]:
    """A loader that imports each CSV through `telemetry.importer.import_file` (the path of
    `lhos import csv`) into a temporary data folder, then reads the run back from the store."""
    from lighthouse_os.assets import service as assets
    from lighthouse_os.assets.hierarchy import NodeDraft, TagDraft
    from lighthouse_os.auth.tenants import SiteInput, create_org, create_site
    from lighthouse_os.bootstrap import initialise
    from lighthouse_os.settings import Settings
    from lighthouse_os.telemetry.service import build_sink

    with tempfile.TemporaryDirectory(prefix="skab-") as folder:
        settings = Settings(
            _env_file=None, data_dir=Path(folder), secret_key=secrets.token_urlsafe(48)
        )
        initialise(settings)
        sink = build_sink(settings)
        with sink.sessions() as session:
            create_org(session, name="SKAB", kind="manufacturer", code="skab")
            data = SiteInput("SKAB test rig", "2813", code="skab", timezone="UTC")
            site = create_site(session, org_ref="skab", data=data)
            assets.create_node(session, site, NodeDraft("rig", "line"))
        try:
            yield lambda path: _import_run(sink, path, assets, NodeDraft, TagDraft)
        finally:
            sink.close()


def _import_run(sink: Any, path: Path, assets: Any, node: Any, tag: Any) -> Run:
    from lighthouse_os.alerts.targets import read_frame
    from lighthouse_os.auth.tenants import get_site
    from lighthouse_os.telemetry.filemap import parse_file_map
    from lighthouse_os.telemetry.importer import import_file

    stamps, _matrix, columns, labels = load_run(path)  # the labels, and the rows to expect
    machine = f"rig/{_key(path.parent.name)}-{_key(path.stem)}"
    with sink.sessions() as session:
        site = get_site(session, "skab")
        assets.create_node(session, site, node(machine, "machine"))
        tags = [
            assets.create_tag(session, site, tag(f"{machine}/{_key(c)}", SKAB_UNITS[c], "gauge"))
            for c in columns
        ]
        session.expunge_all()
    sink.invalidate("skab")  # the sink caches the site's tags for a second
    file_map = parse_file_map(
        {
            "timestamp": {"column": "datetime", "format": "%Y-%m-%d %H:%M:%S", "timezone": "UTC"},
            "columns": {
                c: {"tag": t.path, "unit": t.unit} for c, t in zip(columns, tags, strict=True)
            },
            "csv": {"delimiter": ";"},
        }
    )
    report = import_file(sink, "skab", path, file_map, kind="csv")
    if report.rejected or report.points_written != len(stamps) * len(columns):
        raise SystemExit(f"{path}: the importer stored {report.points_written} points")
    end = stamps[-1] + timedelta(seconds=1)
    frame = read_frame(sink.store, machine, tags, stamps[0], end, resolution="raw")
    if list(frame.timestamps) != stamps or np.isnan(frame.values).any():
        raise SystemExit(f"{path}: the store does not give back the file's rows")
    return list(frame.timestamps), frame.values, columns, labels


@dataclass(frozen=True)
class Scores:
    """Pointwise confusion counts summed over runs, and SKAB's metrics on them."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def f1(self) -> float:  # SKAB: F1 = TP / (TP + (FN + FP) / 2)
        return self.tp / (self.tp + (self.fn + self.fp) / 2)

    @property
    def far(self) -> float:  # false alarm rate, % = FP / (FP + TN)
        return 100 * self.fp / (self.fp + self.tn)

    @property
    def mar(self) -> float:  # missed alarm rate, % = FN / (FN + TP)
        return 100 * self.fn / (self.fn + self.tp)


def confusion(labels: Sequence[BoolArray], flags: Sequence[BoolArray]) -> Scores:
    y, p = np.concatenate(labels), np.concatenate(flags)
    return Scores(
        int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum()), int((~y & ~p).sum())
    )


@dataclass(frozen=True)
class PcaConfig:
    explained_variance: float = 0.85
    alpha: float = 0.001
    limits: LimitMethod = LimitMethod.PARAMETRIC
    inflate: bool = False
    policy: AlarmPolicy = field(default_factory=lambda: AlarmPolicy(smoothing=5))

    def describe(self) -> str:
        p = self.policy
        return (
            f"PCA T²+Q, all 8 signals; explained variance {self.explained_variance}, "
            f"α = {self.alpha}, {self.limits.value} limits, drift inflation "
            f"{'on' if self.inflate else 'off'}; median of {p.smoothing}, clear below "
            f"{p.clear_level}, persistence {p.persistence}"
        )


@dataclass(frozen=True)
class EwmaConfig:
    signals: tuple[str, ...]
    lam: float = 0.1
    width: float = 3.0
    policy: AlarmPolicy = field(default_factory=AlarmPolicy)

    def describe(self) -> str:
        p = self.policy
        return (
            f"EWMA chart on {', '.join(self.signals)} (alarm if any); λ = {self.lam}, "
            f"L = {self.width}; clear below {p.clear_level}, persistence {p.persistence}"
        )


Config = PcaConfig | EwmaConfig


def flags_for(config: Config, run: Run, columns: list[str], inflation: FloatArray) -> BoolArray:
    """Fit on the run's first 400 rows, score every row of the run (SKAB protocol)."""
    matrix = run[1]
    if isinstance(config, PcaConfig):
        detector = PcaT2Q(
            columns,
            explained_variance=config.explained_variance,
            alpha=config.alpha,
            limits=config.limits,
            scale_inflation=inflation.tolist() if config.inflate else None,
            policy=config.policy,
        ).fit(matrix[:TRAIN_ROWS])
        return detector.score_batch(matrix).flag
    flags = np.zeros(len(matrix), dtype=np.bool_)
    for name in config.signals:
        j = columns.index(name)
        chart = EwmaChart(name, lam=config.lam, width=config.width, policy=config.policy)
        chart.fit(matrix[:TRAIN_ROWS, j : j + 1])
        flags |= chart.score_batch(matrix[:, j : j + 1]).flag
    return flags


def evaluate(
    config: Config, runs: dict[int, Run], ids: Sequence[int], inflation: FloatArray
) -> Scores:
    columns = runs[ids[0]][2]
    flags = [flags_for(config, runs[i], columns, inflation) for i in ids]
    return confusion([_labels(runs[i]) for i in ids], flags)


def _labels(run: Run) -> BoolArray:
    if run[3] is None:
        raise SystemExit("a valve1 run has no `anomaly` column")
    return run[3]


def _better(a: Scores, b: Scores | None) -> bool:
    return b is None or (round(a.f1, 6), -a.far) > (round(b.f1, 6), -b.far)


def tune_pca(
    runs: dict[int, Run], ids: Sequence[int], inflation: FloatArray
) -> tuple[PcaConfig, Scores, int]:
    """Grid search of PCA T²+Q on the tuning runs `ids`; returns best config, scores, grid size."""
    grid = list(
        itertools.product(
            (0.8, 0.85, 0.9, 0.95),
            (0.01, 0.001),
            tuple(LimitMethod),
            (False, True),
            (5, 15, 30),
            (1.0, 0.7, 0.5),
        )
    )
    best: tuple[PcaConfig, Scores] | None = None
    for ev, alpha, limits, inflate, smoothing, clear in grid:
        policy = AlarmPolicy(smoothing=smoothing, clear_level=clear)
        config = PcaConfig(ev, alpha, limits, inflate, policy)
        scores = evaluate(config, runs, ids, inflation)
        if _better(scores, None if best is None else best[1]):
            best = (config, scores)
    if best is None:
        raise SystemExit("empty PCA grid")
    return best[0], best[1], len(grid)


def _ewma_unit_scores(
    runs: dict[int, Run], ids: Sequence[int], name: str, lam: float
) -> list[FloatArray]:
    """Per tuning run, the EWMA statistic of one signal at L = 1 (score at L is this / L)."""
    out = []
    for i in ids:
        j = runs[i][2].index(name)
        chart = EwmaChart(name, lam=lam, width=1.0).fit(runs[i][1][:TRAIN_ROWS, j : j + 1])
        out.append(chart.score_batch(runs[i][1][:, j : j + 1]).score)
    return out


def _filtered(unit: list[FloatArray], width: float, policy: AlarmPolicy) -> list[BoolArray]:
    flags = []
    for scores in unit:
        alarm = AlarmFilter(policy)
        flags.append(np.array([alarm.update(float(s) / width) for s in scores], dtype=np.bool_))
    return flags


def tune_ewma(runs: dict[int, Run], ids: Sequence[int]) -> tuple[EwmaConfig, Scores, int]:
    """Greedy forward selection of signals, each step a grid over λ, L, hysteresis, persistence."""
    columns = runs[ids[0]][2]
    labels = [_labels(runs[i]) for i in ids]
    lams, widths, clears, persists = (
        (0.05, 0.1, 0.2),
        (3.0, 4.0, 5.0, 6.0, 8.0),
        (1.0, 0.7, 0.5),
        (1, 5),
    )
    unit = {(c, lam): _ewma_unit_scores(runs, ids, c, lam) for c in columns for lam in lams}
    chosen: tuple[str, ...] = ()
    best: tuple[EwmaConfig, Scores] | None = None
    evaluated = 0
    while len(chosen) < len(columns):
        step: tuple[EwmaConfig, Scores] | None = None
        for extra in (c for c in columns if c not in chosen):
            signals = (*chosen, extra)
            for lam, width, clear, persist in itertools.product(lams, widths, clears, persists):
                policy = AlarmPolicy(clear_level=clear, persistence=persist)
                per_signal = [_filtered(unit[(s, lam)], width, policy) for s in signals]
                flags = [np.logical_or.reduce(parts) for parts in zip(*per_signal, strict=True)]
                scores = confusion(labels, flags)
                evaluated += 1
                if _better(scores, None if step is None else step[1]):
                    step = (EwmaConfig(signals, lam, width, policy), scores)
        if step is None or not _better(step[1], None if best is None else best[1]):
            break
        best, chosen = step, step[0].signals
    if best is None:
        raise SystemExit("empty EWMA grid")
    return best[0], best[1], evaluated


def load_all(root: Path, load: Loader = load_run) -> tuple[dict[int, Run], Run]:
    runs = {int(p.stem): load(p) for p in sorted((root / "valve1").glob("*.csv"))}
    if sorted(runs) != list(range(16)):
        raise SystemExit(f"expected valve1/0.csv … 15.csv under {root}")
    return runs, load(root / "anomaly-free" / "anomaly-free.csv")


@dataclass(frozen=True)
class Fold:
    """Settings chosen on `tune` runs, to be scored on `test` runs."""

    tune: tuple[int, ...]
    test: tuple[int, ...]
    pca: PcaConfig
    pca_tune: Scores
    pca_grid: int
    ewma: EwmaConfig
    ewma_tune: Scores
    ewma_grid: int

    @property
    def chosen(self) -> Config:
        return self.pca if _better(self.pca_tune, self.ewma_tune) else self.ewma


def run_fold(
    runs: dict[int, Run], tune: tuple[int, ...], test: tuple[int, ...], inflation: FloatArray
) -> Fold:
    pca, pca_tune, pca_grid = tune_pca(runs, tune, inflation)
    ewma, ewma_tune, ewma_grid = tune_ewma(runs, tune)
    # The EWMA search rescales L = 1 statistics; check the real charts give the same figure.
    if evaluate(ewma, runs, tune, inflation) != ewma_tune:
        raise SystemExit("EWMA search and EwmaChart disagree on the tuning runs")
    return Fold(tune, test, pca, pca_tune, pca_grid, ewma, ewma_tune, ewma_grid)


@dataclass(frozen=True)
class Results:
    runs: dict[int, Run]
    inflation: FloatArray
    baseline: PcaConfig
    folds: tuple[Fold, Fold]
    seconds: float

    def flags(self, config: Config, i: int) -> BoolArray:
        return flags_for(config, self.runs[i], self.runs[i][2], self.inflation)

    def score(self, configs: Sequence[tuple[Config, Sequence[int]]]) -> Scores:
        ids = [i for _, run_ids in configs for i in run_ids]
        flags = [self.flags(c, i) for c, run_ids in configs for i in run_ids]
        return confusion([_labels(self.runs[i]) for i in ids], flags)

    def held_out(self, pick: str) -> list[tuple[Config, Sequence[int]]]:
        """Each fold's `pick` ("chosen" or "pca") with that fold's test runs."""
        return [(getattr(f, pick), f.test) for f in self.folds]


def delay(stamps: list[datetime], labels: BoolArray, flags: BoolArray) -> float | None:
    """Seconds from the labelled anomaly start to the first alarm inside the anomaly."""
    hits = np.flatnonzero(flags & labels)
    start = int(np.argmax(labels))
    return None if not len(hits) else (stamps[int(hits[0])] - stamps[start]).total_seconds()


def _row(name: str, runs: str, s: Scores) -> str:
    cells = f"{s.f1:.3f} | {s.far:.2f} | {s.mar:.2f} | {s.tp} | {s.fp} | {s.fn} | {s.tn}"
    return f"| {name} | {runs} | {cells} |"


def table(r: Results) -> str:
    a, b = r.folds
    base = r.baseline
    return "\n".join(
        [
            "| detector | scored runs | F1 | FAR, % | MAR, % | TP | FP | FN | TN |",
            "|---|---|---|---|---|---|---|---|---|",
            _row("**fold A: selected on 0–7, held out**", "8–15", r.score([(a.chosen, a.test)])),
            _row("fold B: selected on 8–15, held out", "0–7", r.score([(b.chosen, b.test)])),
            _row("**2-fold cross-validated (A + B)**", "0–15", r.score(r.held_out("chosen"))),
            _row("fold A selection, in-sample", "0–7", r.score([(a.chosen, a.tune)])),
            _row("best PCA T²+Q of the grid, fold A", "8–15", r.score([(a.pca, a.test)])),
            _row("best PCA T²+Q of the grid, 2-fold", "0–15", r.score(r.held_out("pca"))),
            _row("SKAB-default PCA T²+Q (untuned)", "8–15", r.score([(base, SECOND_HALF)])),
            _row("SKAB-default PCA T²+Q (untuned)", "0–7", r.score([(base, FIRST_HALF)])),
            _row("SKAB-default PCA T²+Q (untuned)", "0–15", r.score([(base, range(16))])),
        ]
    )


def per_run(r: Results) -> str:
    """Per run, the held-out detector of the fold that did not tune on it."""
    lines = [
        "| run | fold | F1 | FAR, % | MAR, % | first alarm after start, s |",
        "|---|---|---|---|---|---|",
    ]
    for fold in r.folds:
        for i in fold.test:
            flags, labels = r.flags(fold.chosen, i), _labels(r.runs[i])
            s = confusion([labels], [flags])
            d = delay(r.runs[i][0], labels, flags)
            name = "A" if fold is r.folds[0] else "B"
            late = "missed" if d is None else f"{d:.0f}"
            lines.append(f"| {i} | {name} | {s.f1:.3f} | {s.far:.2f} | {s.mar:.2f} | {late} |")
    return "\n".join(lines)


def _fold_text(name: str, fold: Fold) -> str:
    first, last = fold.tune[0], fold.tune[-1]
    return (
        f"- Fold {name}, tuned on runs {first}–{last}:\n"
        f"  - best PCA T²+Q of {fold.pca_grid} settings: {fold.pca.describe()}; "
        f"tuning F1 {fold.pca_tune.f1:.3f};\n"
        f"  - best EWMA bank ({fold.ewma_grid} settings in the greedy search): "
        f"{fold.ewma.describe()}; tuning F1 {fold.ewma_tune.f1:.3f};\n"
        f"  - **selected: {fold.chosen.describe()}**."
    )


SOURCES = {
    False: "The runs were read from the CSV files with the `csv` module (`load_run`).",
    True: (
        "The runs went through the platform itself (`--via-importer`): each CSV was imported "
        "with the CSV importer that `lhos import csv` uses (`telemetry/importer.py`, a "
        "`;`-separated file map, stamps read as UTC) into a temporary data folder, one machine "
        "with eight gauge tags per run, and read back from the DuckDB time-series store "
        "(`alerts/targets.read_frame`). The script checks that every run read back equals its "
        "CSV file bit for bit (timestamps and values); the labels come from the CSV. The "
        "figures are therefore identical to reading the CSV files directly: the same F1, FAR "
        "and MAR in every row, as a run without `--via-importer` confirms."
    ),
}


def render(r: Results, via_importer: bool = False) -> str:
    a = r.folds[0]
    held = r.score([(a.chosen, a.test)])
    cv = r.score(r.held_out("chosen"))
    factors = zip(r.runs[0][2], r.inflation.tolist(), strict=True)
    return TEMPLATE.format(
        table=table(r),
        per_run=per_run(r),
        f1=held.f1,
        far=held.far,
        mar=held.mar,
        cv_f1=cv.f1,
        cv_far=cv.far,
        cv_mar=cv.mar,
        verdict="reaches" if held.f1 >= 0.80 and cv.f1 >= 0.80 else "does not reach",
        source=textwrap.fill(SOURCES[via_importer], width=96),
        command=" --via-importer" if via_importer else "",
        folds="\n".join(_fold_text(n, f) for n, f in zip("AB", r.folds, strict=True)),
        baseline=r.baseline.describe(),
        inflation=", ".join(f"{c} {f:.2f}" for c, f in factors),
        seconds=r.seconds,
        cores=os.cpu_count(),
        python=platform.python_version(),
        numpy=np.__version__,
    )


def _load(root: Path, via_importer: bool) -> tuple[dict[int, Run], Run]:
    """The runs, from the CSV files or through the platform's importer and store.

    Through the importer, each run read back must equal the CSV bit for bit (timestamps and
    values), so every figure is the same as when the CSV files are read directly.
    """
    direct = load_all(root)
    if not via_importer:
        return direct
    with platform_loader() as load:
        stored = load_all(root, load)
    for ours, theirs in zip(
        [*stored[0].values(), stored[1]], [*direct[0].values(), direct[1]], strict=True
    ):
        if ours[0] != theirs[0] or not np.array_equal(ours[1], theirs[1]) or ours[2] != theirs[2]:
            raise SystemExit("a run read back from the store differs from its CSV file")
    return stored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/evaluations/skab.md"))
    parser.add_argument(
        "--via-importer",
        action="store_true",
        help="import each CSV through the platform's CSV importer and read it from the store",
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    runs, free = _load(args.path, args.via_importer)
    if runs[0][2] != free[2]:
        raise SystemExit("anomaly-free and valve1 columns differ")
    # Label-free: how much more normal operation varies than a 400 s reference shows.
    inflation = drift_inflation(free[1], TRAIN_ROWS, 750)
    folds = (
        run_fold(runs, FIRST_HALF, SECOND_HALF, inflation),
        run_fold(runs, SECOND_HALF, FIRST_HALF, inflation),
    )
    results = Results(runs, inflation, PcaConfig(), folds, time.perf_counter() - began)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, args.via_importer), encoding="utf-8")
    print(table(results))
    print(f"written {args.out}; tuning took {results.seconds:.0f} s on {os.cpu_count()} cores")
    return 0


TEMPLATE = """# SKAB evaluation of the anomaly detectors

Generated by `python benchmarks/eval_skab.py PATH{command}` (PATH holds SKAB's
`anomaly-free/` and `valve1/` folders); do not edit by hand.

## Result

Primary figure (fold A, settings chosen on valve1 runs 0–7, scored on runs 8–15):
**F1 = {f1:.3f}, FAR = {far:.2f} %, MAR = {mar:.2f} %** (pointwise, SKAB's outlier-detection
metrics). Two-fold cross-validated over all 16 runs (each run scored by settings chosen on the
other half): F1 = {cv_f1:.3f}, FAR = {cv_far:.2f} %, MAR = {cv_mar:.2f} %. The detector
{verdict} the target F1 ≥ 0.80 on held-out runs.

{table}

Runs 8–15 are easier than runs 0–7 for every detector (compare the untuned rows), so compare
rows on the same runs, not across halves.

### Per held-out run

{per_run}

## Data

SKAB (Skoltech Anomaly Benchmark, waico/SKAB, GPL-3.0) subset in the shared data folder:
`valve1/0.csv` … `15.csv` (16 runs of about 1 140 one-second rows; the inlet valve is closed
part-way through and the `anomaly` column marks about 400 rows per run) and
`anomaly-free/anomaly-free.csv` (9 405 rows of normal operation at another operating point).
Signals: Accelerometer1RMS, Accelerometer2RMS, Current, Pressure, Temperature, Thermocouple,
Voltage, Volume Flow RateRMS.

## Protocol

SKAB's published outlier-detection baselines (the notebooks of waico/SKAB) do this for each
run, and so does this script, with the platform's own detector classes
(`lighthouse_os.alerts.detectors`):

1. fit the detector on the run's first 400 rows, which are anomaly-free by construction;
2. score every row of the run, including those 400, as one stream in time order;
3. count TP, FP, FN and TN pointwise against the `anomaly` label, summed over the runs;
4. F1 = TP / (TP + (FN + FP)/2), FAR = FP / (FP + TN), MAR = FN / (FN + TP), as in SKAB's
   `core/metrics.py` (`chp_score(..., metric="binary")`).

{source}

The SKAB leaderboard is computed over all 34 SKAB files (valve1, valve2, other) with
out-of-the-box settings; the README version read for this work lists F1 0.79 for Conv-AE, 0.73
for MSET and 0.67 for T²+Q (PCA); the issue quotes 0.78, 0.78 and 0.76 from another version.
Only valve1 is available here, so these figures are **not directly comparable** with the
leaderboard; the untuned SKAB-default T²+Q rows are the like-for-like reference on the same runs.

## How the settings were chosen

- The split was fixed before tuning: fold A tunes on runs 0–7 and reports on runs 8–15 (the
  primary figure); fold B swaps the halves. Selection in a fold reads only its tuning runs' labels.
- In each fold two detector families are tuned and the one with the higher tuning F1 (ties: lower
  FAR) is selected:
  - PCA T²+Q over all eight signals: explained variance 0.8–0.95, α 0.01/0.001, parametric
    (F / Jackson–Mudholkar) or empirical limits, drift inflation on/off, median smoothing
    5/15/30 samples, hysteresis clear level 1.0/0.7/0.5;
  - EWMA charts, one per signal, alarm if any chart alarms: greedy forward selection of signals,
    each step a grid over λ 0.05/0.1/0.2, L 3–8, clear level 1.0/0.7/0.5, persistence 1/5.
{folds}
- Drift inflation is label-free: on the anomaly-free record each 400-row reference window is
  followed by 750 rows, and a signal's factor is the 99th percentile of |x − mean_ref| / sd_ref
  divided by 2.576, floored at 1. Factors: {inflation}.
- The SKAB-default rows use SKAB's published T²+Q settings (explained variance 0.85,
  p = 0.999 so α = 0.001, rolling median of 5, here taken over the combined score
  max(T²/T²_lim, Q/Q_lim) rather than over T² and Q separately) with this platform's parametric
  limits:
  {baseline}.
- Disclosure: before the split was fixed the author ran a first PCA T²+Q check (9 settings of
  explained variance, quantile and median window) over all 16 runs and looked at per-segment
  signal means of all 16 runs. That look showed that the volume flow carries the valve fault.
  No setting was copied from it into the script (the script selects everything on tuning runs),
  but it is knowledge of the held-out runs, and readers should weigh the figures with that in mind.

## What this means for users

- For this fault (a partly closed valve) the signal that matters is the volume flow; the other
  signals drift (temperatures) or are noise, and every all-signal PCA setting pays for them with
  false alarms. Monitoring the tag that carries a known failure mode with an EWMA chart beats
  putting every tag of the machine into PCA; PCA T²+Q stays the right tool when the failure mode
  is unknown.
- A one-signal detector is blind to the fault's other symptoms: in runs 0 and 2 the flow hardly
  moves (the motor temperature does) and the EWMA chart misses most of those two anomalies (see
  the per-run table), which is most of fold B's MAR.
- After the valve reopens the rig does not always return to its reference state within the run,
  so a part of the false alarms fall after the labelled end of the anomaly.
- The selected detector raised its first alarm about 50 s (median) after the labelled start; in
  the runs looked at (0 and 3) the motor temperature or the flow starts to move 20–60 s after
  the label does, so part of the MAR is this lag rather than a missed fault.

## Environment

{cores} cores, Python {python}, numpy {numpy}; tuning and scoring took {seconds:.0f} s.
"""


if __name__ == "__main__":
    raise SystemExit(main())
