"""The JSON Schemas published in docs/kpi/ match the pydantic models."""

from __future__ import annotations

from pathlib import Path

import pytest

from lighthouse_os.kpi.schemas import schema_files

DOCS = Path(__file__).resolve().parents[2] / "docs" / "kpi"


@pytest.mark.parametrize(("name", "text"), sorted(schema_files().items()))
def test_published_schema_is_up_to_date(name: str, text: str) -> None:
    path = DOCS / name
    assert path.exists(), f"missing {path}; run: python docs/kpi/generate_schemas.py"
    assert path.read_text(encoding="utf-8") == text, (
        f"{name} is stale; run: python docs/kpi/generate_schemas.py"
    )
