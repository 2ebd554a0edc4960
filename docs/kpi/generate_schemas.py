"""Rewrite docs/kpi/*.schema.json from the pydantic models in lighthouse_os.kpi.schemas."""

from __future__ import annotations

from pathlib import Path

from lighthouse_os.kpi.schemas import schema_files


def main() -> None:
    """Write every published schema next to this script."""
    folder = Path(__file__).resolve().parent
    for name, text in schema_files().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()
