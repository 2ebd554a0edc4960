"""Messages that pure cores write once and the UI shows in the reader's language (pure).

A rule deep in a feature (a bad unit, a key already used) knows what is wrong but not who reads
it: the API and the CLI answer in English, a form in the visitor's language. So the rule returns
a `Text`: it *is* the English sentence (a `str`, so every existing caller keeps working), and it
also keeps its catalogued template and arguments, which `localized` renders with a gettext.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Translate = Callable[[str], str]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark `message` for the catalog; it is translated where it is shown."""
    return message


class Text(str):
    """A catalogued message with `{name}` arguments, equal to its English rendering.

    Arguments that are themselves `Text` (say, a level name) are translated with the message.
    """

    template: str
    args: Mapping[str, object]

    def __new__(cls, template: str, **args: object) -> Text:
        text = super().__new__(cls, template.format(**args))
        text.template = template
        text.args = args
        return text

    def localized(self, gettext: Translate) -> str:
        """The message in the language of `gettext`."""
        args = {name: translated(value, gettext) for name, value in self.args.items()}
        return gettext(self.template).format(**args)


def translated(message: object, gettext: Translate) -> str:
    """`message` in the language of `gettext`: a `Text` with its arguments, another string as a
    catalog entry (unknown strings come back as they are)."""
    if isinstance(message, Text):
        return message.localized(gettext)
    if not isinstance(message, str):
        return str(message)
    return gettext(message) if message else ""  # gettext("") is the catalog's header
