"""Validation problems of a form, by field, in words the reader's language can carry (pure).

pydantic words its errors in English ("String should match pattern '^…$'"). A form shows them
beside the field in the visitor's language, so the usual error types map to catalogued
`text.Text` messages with pydantic's own limits as arguments. A `ValueError(Text(…))` raised by
one of our validators keeps its `Text`, a plain `ValueError` its words; any other error keeps
pydantic's English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lighthouse_os.text import N_, Text

# pydantic error type -> our wording; `{name}` are keys of the error's context (its limits).
_MESSAGES: Mapping[str, str] = {
    "missing": N_("required"),
    "string_too_short": N_("at least {min_length} character(s)"),
    "string_too_long": N_("at most {max_length} characters"),
    "too_short": N_("at least {min_length} item(s)"),
    "too_long": N_("at most {max_length} items"),
    "string_pattern_mismatch": N_("not in the expected format"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "float_parsing": N_("not a number"),
    "float_type": N_("not a number"),
    "int_parsing": N_("not a whole number"),
    "int_type": N_("not a whole number"),
}


def form_problems(err: ValidationError, *, whole: str = "form") -> dict[str, str]:
    """`{"field.path": message}` for each error; errors of the whole model go under `whole`."""
    return {
        ".".join(str(part) for part in error["loc"]) or whole: problem(error)
        for error in err.errors()
    }


def problem(error: Mapping[str, Any]) -> str:
    """One pydantic error as a message: a `Text` where we have its wording, else its English."""
    context = error.get("ctx") or {}
    raised = context.get("error")
    if isinstance(raised, ValueError):  # our validator's words, without "Value error, "
        return raised.args[0] if raised.args and isinstance(raised.args[0], Text) else str(raised)
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"])
    # A float field's limits come as floats: 24, as pydantic's own message says, not 24.0.
    limits = {
        k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in context.items()
    }
    try:
        return Text(template, **limits)
    except (KeyError, IndexError):  # a context without the limit the wording names
        return str(error["msg"])
