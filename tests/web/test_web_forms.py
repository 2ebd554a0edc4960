"""Form validation problems carry catalogued wording, with pydantic's limits as arguments."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from lighthouse_os.text import N_, Text, translated
from lighthouse_os.web.forms import form_problems


class Shift(BaseModel):
    name: str = Field(min_length=1, max_length=4)
    start: str = Field(pattern=r"^\d\d:\d\d$")
    hours: float = Field(gt=0, le=24)
    crew: int

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name == "X":
            raise ValueError(Text(N_("{name!r} is reserved"), name=name))
        if name == "Y":
            raise ValueError("plain words")
        return name


def problems(**data: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Shift.model_validate({"name": "A", "start": "06:00", "hours": 8, "crew": 3, **data})
    return form_problems(caught.value)


CATALOG = {"at most {max_length} characters": "tối đa {max_length} ký tự"}


def test_constraint_errors_get_our_wording_with_their_limits() -> None:
    found = problems(name="LONGER", start="6am", hours=30, crew="many")
    assert found == {
        "name": "at most 4 characters",
        "start": "not in the expected format",
        "hours": "must be at most 24",
        "crew": "not a whole number",
    }
    assert translated(found["name"], lambda m: CATALOG.get(m, m)) == "tối đa 4 ký tự"


def test_our_validators_keep_their_text_and_others_keep_pydantics_english() -> None:
    reserved = problems(name="X")["name"]
    assert isinstance(reserved, Text)
    assert reserved == "'X' is reserved"
    assert problems(name="Y")["name"] == "plain words"
    assert problems(start=None)["start"] == "Input should be a valid string"
