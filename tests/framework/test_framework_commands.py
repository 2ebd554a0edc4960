"""CLI tests for ``lhos framework list`` and ``lhos framework validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from lighthouse_os.framework import catalog, commands
from lighthouse_os.framework.catalog import pack_summaries

Files = dict[str, Any]
runner = CliRunner()


@pytest.fixture
def packs_root(capability_files: Files, siri_files: Files, write_pack: Any, tmp_path: Path) -> Path:
    root = tmp_path / "packs"
    write_pack(capability_files, root / "demo" / "1.0.0")
    write_pack(siri_files, root / "mini-siri" / "1.0.0")
    capability_files["kpis.yaml"][0]["unit"] = ""
    capability_files["pack.yaml"]["version"] = "1.1.0"
    write_pack(capability_files, root / "demo" / "1.1.0")
    return root


def test_pack_summaries_count_content_and_flag_invalid(packs_root: Path) -> None:
    summaries = {(s.id, s.version): s for s in pack_summaries(packs_root)}
    assert summaries[("demo", "1.0.0")].counts == {
        "principles": 2,
        "areas": 3,
        "capabilities": 3,
        "criteria": 30,
        "use_cases": 1,
        "kpis": 3,
    }
    assert summaries[("mini-siri", "1.0.0")].counts == {
        "blocks": 1,
        "pillars": 1,
        "dimensions": 2,
        "bands": 12,
        "kpis": 3,
    }
    invalid = summaries[("demo", "1.1.0")]
    assert (invalid.valid, invalid.problems, invalid.counts) == (False, 1, {})


def test_framework_list_json(packs_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "pack_summaries", lambda: catalog.pack_summaries(packs_root))
    result = runner.invoke(commands.app, ["list", "--json"])
    assert result.exit_code == 0
    rows = orjson.loads(result.stdout)
    assert [(r["id"], r["version"], r["valid"]) for r in rows] == [
        ("demo", "1.0.0", True),
        ("demo", "1.1.0", False),
        ("mini-siri", "1.0.0", True),
    ]
    assert rows[2]["method"] == "siri-bands"
    assert rows[0]["title"] == {"vi": "Demo (vi)", "en": "Demo (en)"}


def test_framework_list_text(packs_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "pack_summaries", lambda: catalog.pack_summaries(packs_root))
    result = runner.invoke(commands.app, ["list"])
    assert result.exit_code == 0
    assert "demo 1.1.0  INVALID (1 problems)" in result.stdout
    assert "capabilities=3, criteria=30" in result.stdout


def test_framework_validate_exits_0_when_valid(packs_root: Path) -> None:
    result = runner.invoke(commands.app, ["validate", str(packs_root / "demo" / "1.0.0")])
    assert result.exit_code == 0
    assert "valid" in result.stdout


def test_framework_validate_prints_every_problem_and_exits_1(packs_root: Path) -> None:
    result = runner.invoke(commands.app, ["validate", str(packs_root / "demo" / "1.1.0")])
    assert result.exit_code == 1
    assert "kpis.yaml: [0].unit: empty" in result.stdout
    assert "1 problem(s)" in result.stderr


def test_framework_list_includes_builtin_siri_pack() -> None:
    result = runner.invoke(commands.app, ["list", "--json"])
    assert result.exit_code == 0
    ids = {(r["id"], r["version"]) for r in orjson.loads(result.stdout)}
    assert ("siri", "1.0.0") in ids
