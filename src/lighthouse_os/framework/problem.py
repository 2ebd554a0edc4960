"""A problem found in a framework pack, located by file and by path inside the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem: ``file`` relative to the pack folder, ``path`` like ``[2].levels.3``."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        if self.path:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}: {self.message}"


class PackInvalidError(ValueError):
    """A pack failed validation; ``problems`` lists every problem found."""

    def __init__(self, location: str, problems: Sequence[Problem]) -> None:
        self.location = location
        self.problems = tuple(problems)
        first = "; ".join(str(p) for p in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"pack {location} has {len(self.problems)} problem(s): {first}{more}")


def join_path(*parts: str | int) -> str:
    """Join path parts: ints become ``[i]`` list indices, strings ``.key`` (no leading dot)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
