"""Build protobuf message classes from a small proto2 file at runtime, without protoc.

Why: protoc and grpcio-tools are not dependencies, and generated `_pb2.py` files would be a
second copy of the schema. The `.proto` file stays the one human-readable source; this reads
its subset (messages, optional/repeated scalar or message fields, oneof, `extensions N to max`,
`//` comments) into a `FileDescriptorProto` and lets the protobuf runtime make the classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

_F = descriptor_pb2.FieldDescriptorProto
SCALARS: dict[str, int] = {
    "double": _F.TYPE_DOUBLE,
    "float": _F.TYPE_FLOAT,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "sint32": _F.TYPE_SINT32,
    "sint64": _F.TYPE_SINT64,
    "bool": _F.TYPE_BOOL,
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
}
_LABELS = {"optional": _F.LABEL_OPTIONAL, "repeated": _F.LABEL_REPEATED}
# Highest field number + 1: extension ranges are end-exclusive (descriptor.proto).
_MAX_FIELD = 536_870_912
_TOKEN = re.compile(r'\s+|//[^\n]*|"[^"\n]*"|[A-Za-z_][A-Za-z0-9_.]*|\d+|[{};=]|(.)')


class ProtoSyntaxError(ValueError):
    """The file uses syntax outside the supported subset; names the line."""


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    line: int


def tokenize(text: str) -> list[_Token]:
    """Tokens with their line numbers; whitespace and comments dropped."""
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if match.group(1) is not None:
            raise ProtoSyntaxError(f"line {line}: unexpected character {match.group(1)!r}")
        word = match.group(0)
        if not word.isspace() and not word.startswith("//"):
            tokens.append(_Token(word, line))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._pos = 0

    def at_end(self) -> bool:
        return self._pos >= len(self._tokens)

    def peek(self) -> str:
        return self._tokens[self._pos].text if not self.at_end() else ""

    def take(self, expected: str | None = None) -> str:
        if self.at_end():
            raise ProtoSyntaxError("unexpected end of file")
        token = self._tokens[self._pos]
        if expected is not None and token.text != expected:
            raise ProtoSyntaxError(f"line {token.line}: expected {expected!r}, got {token.text!r}")
        self._pos += 1
        return token.text

    def number(self) -> int:
        line = self._tokens[self._pos].line if not self.at_end() else 0
        text = self.take()
        if not text.isdigit():
            raise ProtoSyntaxError(f"line {line}: expected a number, got {text!r}")
        return int(text)


def _field(p: _Parser, msg: descriptor_pb2.DescriptorProto, label: str, oneof: int | None) -> None:
    type_name, name = p.take(), p.take()
    p.take("=")
    field = msg.field.add(name=name, number=p.number(), label=_LABELS[label], json_name=name)
    p.take(";")
    if type_name in SCALARS:
        field.type = SCALARS[type_name]
    else:
        field.type = _F.TYPE_MESSAGE
        field.type_name = type_name  # resolved to a full name once every message is known
    if oneof is not None:
        field.oneof_index = oneof


def _oneof(p: _Parser, msg: descriptor_pb2.DescriptorProto) -> None:
    msg.oneof_decl.add(name=p.take())
    index = len(msg.oneof_decl) - 1
    p.take("{")
    while p.peek() != "}":
        _field(p, msg, "optional", index)
    p.take("}")


def _extensions(p: _Parser, msg: descriptor_pb2.DescriptorProto) -> None:
    start = p.number()
    p.take("to")
    end = _MAX_FIELD if p.peek() == "max" and p.take() else p.number() + 1
    p.take(";")
    msg.extension_range.add(start=start, end=end)


def _message(p: _Parser, msg: descriptor_pb2.DescriptorProto) -> None:
    msg.name = p.take()
    p.take("{")
    while p.peek() != "}":
        keyword = p.take()
        if keyword in _LABELS:
            _field(p, msg, keyword, None)
        elif keyword == "oneof":
            _oneof(p, msg)
        elif keyword == "extensions":
            _extensions(p, msg)
        elif keyword == "message":
            _message(p, msg.nested_type.add())
        else:
            raise ProtoSyntaxError(f"unsupported statement {keyword!r} in message {msg.name}")
    p.take("}")


def _resolve(msg: descriptor_pb2.DescriptorProto, scope: str, known: set[str]) -> None:
    """Turn each message-typed field's relative name into `.pkg.Outer.Name` (innermost first)."""
    here = f"{scope}.{msg.name}"
    for field in msg.field:
        if field.type == _F.TYPE_MESSAGE and not field.type_name.startswith("."):
            parts = here.split(".")
            candidates = [".".join([*parts[:i], field.type_name]) for i in range(len(parts), 0, -1)]
            found = next((c for c in candidates if c in known), None)
            if found is None:
                raise ProtoSyntaxError(f"unknown type {field.type_name!r} in {msg.name}")
            field.type_name = found
    for nested in msg.nested_type:
        _resolve(nested, here, known)


def _names(msg: descriptor_pb2.DescriptorProto, scope: str) -> set[str]:
    here = f"{scope}.{msg.name}"
    return {here}.union(*(_names(n, here) for n in msg.nested_type))


def parse_proto(text: str, file_name: str) -> descriptor_pb2.FileDescriptorProto:
    """A `FileDescriptorProto` for the supported proto2 subset."""
    p = _Parser(tokenize(text))
    proto = descriptor_pb2.FileDescriptorProto(name=file_name)
    while not p.at_end():
        keyword = p.take()
        if keyword == "syntax":
            p.take("=")
            proto.syntax = p.take().strip('"')
        elif keyword == "package":
            proto.package = p.take()
        elif keyword == "message":
            _message(p, proto.message_type.add())
            continue
        else:
            raise ProtoSyntaxError(f"unsupported top-level statement {keyword!r}")
        p.take(";")
    if proto.syntax != "proto2":
        raise ProtoSyntaxError("only proto2 files are supported")
    scope = f".{proto.package}" if proto.package else ""
    known = set().union(*(_names(m, scope) for m in proto.message_type))
    for msg in proto.message_type:
        _resolve(msg, scope, known)
    return proto


def load_messages(path: Path) -> dict[str, type[Message]]:
    """Message classes of a `.proto` file, by unqualified top-level name."""
    proto = parse_proto(path.read_text(encoding="utf-8"), path.name)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    prefix = f"{proto.package}." if proto.package else ""
    return {
        m.name: message_factory.GetMessageClass(pool.FindMessageTypeByName(prefix + m.name))
        for m in proto.message_type
    }
