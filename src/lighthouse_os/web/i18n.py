"""Babel catalogs for the UI, compiled in memory at start-up so no build step is needed."""

from __future__ import annotations

import io
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from lighthouse_os.text import translated

LOCALES = ("vi", "en")
LOCALE_NAMES: Mapping[str, str] = {"vi": "Tiếng Việt", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

_current_locale: ContextVar[str] = ContextVar("lhos_locale", default="vi")


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for `locale`; English is the source language, so it may be empty."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def set_locale(locale: str) -> None:
    """Make `locale` the language of gettext calls in this request or command."""
    _current_locale.set(locale if locale in LOCALES else LOCALES[0])


def current_locale() -> str:
    """The language chosen for this request or command."""
    return _current_locale.get()


def gettext(message: str) -> str:
    """Translate `message` into the current locale."""
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with a plural form chosen for `n`."""
    return translations(current_locale()).ngettext(singular, plural, n)


def localize(message: object) -> str:
    """A message (a `text.Text` with its arguments, or a catalogued string) in this locale."""
    return translated(message, gettext)


def pick(text: Mapping[str, str]) -> str:
    """Choose the current language from a bilingual content value such as `{vi: …, en: …}`."""
    return text.get(current_locale()) or text.get("en") or next(iter(text.values()), "")
