"""Errors that carry an HTTP status; one handler in app.py renders them as JSON or a page."""

from __future__ import annotations

from collections.abc import Mapping


class LhosError(Exception):
    """Base of every error the platform reports to a user."""

    status = 400

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidInput(LhosError):
    """The request or file is malformed; `fields` names the fields at fault."""

    status = 422


class Unauthorized(LhosError):
    """No valid credentials were presented."""

    status = 401


class Forbidden(LhosError):
    """Credentials are valid but do not allow this action on a visible resource."""

    status = 403


class NotFound(LhosError):
    """Missing, or belonging to another tenant: the two are deliberately indistinguishable."""

    status = 404


class Conflict(LhosError):
    """The action clashes with existing state, e.g. a duplicate email."""

    status = 409


class TooManyRequests(LhosError):
    """A rate limit was hit, e.g. repeated failed logins."""

    status = 429
