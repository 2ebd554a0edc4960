"""Read a pack folder's YAML files and parse them against the schema, collecting every problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from lighthouse_os.framework import schema
from lighthouse_os.framework.problem import Problem

ModelT = TypeVar("ModelT", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)

CAPABILITY_FILES = ("pack.yaml", "kpis.yaml", "principles.yaml", "use_cases.yaml")
SIRI_FILES = ("pack.yaml", "kpis.yaml", "blocks.yaml", "dimensions.yaml")
CAPABILITY_DIR = "capabilities"

_MESSAGES = {
    "missing": "missing",
    "extra_forbidden": "unknown field",
    "string_too_short": "empty",
}


# libyaml's parser is ~10x faster on the 300 kB lighthouse-os pack; fall back to pure Python.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe loader that rejects duplicate keys, which PyYAML would otherwise silently drop."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


@dataclass
class Parsed(Generic[ModelT]):
    """A schema-valid item with its index in the file and the file's name."""

    file: str
    index: int
    doc: ModelT


@dataclass
class PackDocuments:
    """The schema-valid parts of a pack; items that failed the schema are left out."""

    method: str | None = None
    manifest: schema.CapabilityPackManifest | schema.SiriPackManifest | None = None
    kpis: list[Parsed[schema.KpiDoc]] = field(default_factory=list)
    principles: list[Parsed[schema.PrincipleDoc]] = field(default_factory=list)
    capabilities: list[Parsed[schema.CapabilityDoc]] = field(default_factory=list)
    use_cases: list[Parsed[schema.UseCaseDoc]] = field(default_factory=list)
    blocks: list[Parsed[schema.BlockDoc]] = field(default_factory=list)
    dimensions: list[Parsed[schema.DimensionDoc]] = field(default_factory=list)
    rejected: dict[str, list[Any]] = field(default_factory=dict)

    def rejected_items(self, kind: str) -> list[Any]:
        """Raw items of ``kind`` that failed the schema (their ids still resolve links)."""
        return self.rejected.setdefault(kind, [])


def read_yaml(root: Path, rel: str, problems: list[Problem]) -> Any:
    """Load ``root/rel``; on a missing file or a syntax error add a problem and return None."""
    path = root / rel
    if not path.is_file():
        problems.append(Problem(rel, "", "file is missing"))
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        problems.append(Problem(rel, _mark(err), f"YAML error: {_yaml_reason(err)}"))
    except UnicodeDecodeError as err:
        problems.append(Problem(rel, "", f"not UTF-8 text: {err.reason}"))
    return None


def _mark(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return ""
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _yaml_reason(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    reason = " ".join(str(part) for part in (context, problem) if part)
    return reason or str(err).splitlines()[0]


def parse_item(
    rel: str, data: Any, prefix: tuple[str | int, ...], model: type[M], problems: list[Problem]
) -> M | None:
    """Validate ``data`` against ``model``; add one problem per schema error."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            loc = prefix + tuple(error["loc"])
            message = _MESSAGES.get(error["type"], error["msg"])
            problems.append(Problem(rel, format_loc(data, prefix, loc), message))
        return None


def parse_list(
    rel: str, data: Any, model: type[M], problems: list[Problem], rejected: list[Any] | None = None
) -> list[Parsed[M]]:
    """Parse a file whose top level is a list, item by item, so one bad item hides nothing.

    Items that fail the schema go to ``rejected``, so that links to their ids do not cascade
    into "unknown id" problems.
    """
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(rel, "", f"expected a list, found {type(data).__name__}"))
        return []
    parsed: list[Parsed[M]] = []
    for index, item in enumerate(data):
        doc = parse_item(rel, item, (index,), model, problems)
        if doc is not None:
            parsed.append(Parsed(rel, index, doc))
        elif rejected is not None:
            rejected.append(item)
    return parsed


def format_loc(item: Any, prefix: tuple[str | int, ...], loc: tuple[str | int, ...]) -> str:
    """Render a pydantic location, walking the raw data to tell list indices from dict keys."""
    out = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in prefix).lstrip(".")
    node: Any = item
    for key in loc[len(prefix) :]:
        if isinstance(node, list) and isinstance(key, int):
            out += f"[{key}]"
            node = node[key] if 0 <= key < len(node) else None
            continue
        text = "(key)" if key == "[key]" else str(key)
        out += f".{text}" if out else text
        node = node.get(key) if isinstance(node, dict) else None
    return out


def manifest_model(
    data: Any,
) -> type[schema.CapabilityPackManifest] | type[schema.SiriPackManifest] | None:
    """Pick the manifest model from ``method``; None when the method is missing or unknown."""
    method = data.get("method") if isinstance(data, dict) else None
    if method == schema.CAPABILITY_METHOD:
        return schema.CapabilityPackManifest
    if method == schema.SIRI_METHOD:
        return schema.SiriPackManifest
    return None


def read_documents(root: Path, problems: list[Problem]) -> PackDocuments:
    """Read and schema-parse every file of the pack at ``root``."""
    docs = PackDocuments()
    raw_manifest = read_yaml(root, "pack.yaml", problems)
    model = manifest_model(raw_manifest)
    if raw_manifest is not None and model is None:
        allowed = f"{schema.CAPABILITY_METHOD!r} or {schema.SIRI_METHOD!r}"
        problems.append(Problem("pack.yaml", "method", f"must be {allowed}"))
    if model is not None:
        docs.method = (
            schema.SIRI_METHOD if model is schema.SiriPackManifest else schema.CAPABILITY_METHOD
        )
        docs.manifest = parse_item("pack.yaml", raw_manifest, (), model, problems)
    docs.kpis = parse_list(
        "kpis.yaml",
        read_yaml(root, "kpis.yaml", problems),
        schema.KpiDoc,
        problems,
        docs.rejected_items("kpis"),
    )
    if model is schema.SiriPackManifest:
        _read_siri(root, docs, problems)
    elif model is schema.CapabilityPackManifest:
        _read_capability(root, docs, problems)
    _unexpected_files(root, model, problems)
    return docs


def _read_capability(root: Path, docs: PackDocuments, problems: list[Problem]) -> None:
    principles = read_yaml(root, "principles.yaml", problems)
    docs.principles = parse_list(
        "principles.yaml", principles, schema.PrincipleDoc, problems, docs.rejected_items("groups")
    )
    use_cases = read_yaml(root, "use_cases.yaml", problems)
    docs.use_cases = parse_list(
        "use_cases.yaml", use_cases, schema.UseCaseDoc, problems, docs.rejected_items("use_cases")
    )
    files = capability_files(root)
    if not files:
        problems.append(Problem(f"{CAPABILITY_DIR}/", "", "no capability files (*.yaml)"))
    for rel in files:
        data = read_yaml(root, rel, problems)
        docs.capabilities.extend(
            parse_list(rel, data, schema.CapabilityDoc, problems, docs.rejected_items("members"))
        )


def _read_siri(root: Path, docs: PackDocuments, problems: list[Problem]) -> None:
    blocks = read_yaml(root, "blocks.yaml", problems)
    docs.blocks = parse_list(
        "blocks.yaml", blocks, schema.BlockDoc, problems, docs.rejected_items("groups")
    )
    dimensions = read_yaml(root, "dimensions.yaml", problems)
    docs.dimensions = parse_list(
        "dimensions.yaml", dimensions, schema.DimensionDoc, problems, docs.rejected_items("members")
    )


def capability_files(root: Path) -> list[str]:
    """Relative names of ``capabilities/*.yaml``, sorted."""
    folder = root / CAPABILITY_DIR
    if not folder.is_dir():
        return []
    return sorted(f"{CAPABILITY_DIR}/{p.name}" for p in folder.iterdir() if _is_yaml(p))


def _is_yaml(path: Path) -> bool:
    return path.is_file() and path.suffix in (".yaml", ".yml")


def _unexpected_files(root: Path, model: type[BaseModel] | None, problems: list[Problem]) -> None:
    # A misspelt file name (usecases.yaml) would otherwise be silently ignored.
    if model is None or not root.is_dir():
        return
    expected = SIRI_FILES if model is schema.SiriPackManifest else CAPABILITY_FILES
    for path in sorted(root.iterdir()):
        if _is_yaml(path) and path.name not in expected:
            problems.append(Problem(path.name, "", "unexpected file for this pack's method"))
