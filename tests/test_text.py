"""Catalogued messages: English as strings, any language through a gettext."""

from __future__ import annotations

from lighthouse_os.text import N_, Text, translated

CATALOG = {
    "{level} below {parent}: {key!r} is taken": "{key!r} đã có dưới {parent} ({level})",
    "machine": "máy",
    "line": "dây chuyền",
    "Save": "Lưu",
}


def gettext(message: str) -> str:
    return CATALOG.get(message, message)


def test_a_text_is_its_english_rendering_and_translates_with_its_arguments() -> None:
    text = Text(
        N_("{level} below {parent}: {key!r} is taken"),
        level=Text(N_("machine")),
        parent=Text(N_("line")),
        key="press2",
    )
    assert text == "machine below line: 'press2' is taken"
    assert isinstance(text, str)
    assert translated(text, gettext) == "'press2' đã có dưới dây chuyền (máy)"


def test_plain_messages_are_looked_up_and_anything_else_is_shown_as_it_is() -> None:
    assert translated("Save", gettext) == "Lưu"
    assert translated("not in the catalog", gettext) == "not in the catalog"
    assert translated("", lambda _m: "the catalog header") == ""
    assert translated(3, gettext) == "3"
