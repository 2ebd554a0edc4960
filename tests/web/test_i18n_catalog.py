"""Every UI message has a Vietnamese translation; the catalog is in step with the sources."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
VI_CATALOG = ROOT / "src/lighthouse_os/web/locale/vi/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [
    ("src/**.py", "python"),
    ("src/**/templates/**.html", "jinja2"),
]


def _source_messages() -> set[str]:
    found: set[str] = set()
    options = {"src/**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHODS, options_map=options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_i18n_every_source_message_has_a_vietnamese_translation() -> None:
    with VI_CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and m.string
        and (m.string if isinstance(m.string, str) else all(m.string))
        and not m.fuzzy
    }
    missing = sorted(_source_messages() - translated)
    assert missing == [], "run scripts/i18n and translate these in the vi catalog"
