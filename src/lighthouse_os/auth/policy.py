"""The one place that decides access: deny by default, and hide what a caller may not see.

A decision has two parts. `visible` says whether the caller may know the resource exists; when it
is false the caller gets 404, exactly as for a resource that does not exist, so nothing leaks
across tenants. `allowed` says whether the action itself is permitted; visible but not allowed
is a 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Roles a membership can carry."""

    SITE_MEMBER = "site_member"
    SITE_ADMIN = "site_admin"
    ASSESSOR = "assessor"
    PROGRAM_ADMIN = "program_admin"
    CONTRIBUTOR = "contributor"
    PLATFORM_ADMIN = "platform_admin"


class OrgKind(StrEnum):
    """Kinds of organisation (tenant)."""

    MANUFACTURER = "manufacturer"
    PROGRAM = "program"
    PROVIDER = "provider"
    ACADEMIA = "academia"


class Consent(StrEnum):
    """What a program may see of an enrolled site."""

    AGGREGATE = "aggregate"  # only inside aggregates of at least MIN_AGGREGATE_SITES sites
    DETAILS = "details"  # the site's assessments and KPIs


class Scope(StrEnum):
    """What an API token may do."""

    READ = "read"
    WRITE = "write"


class Action(StrEnum):
    """Every action a route or command can ask for."""

    SITE_READ = "site.read"  # profile, assessments, KPIs, telemetry of one site
    SITE_WRITE = "site.write"  # assessments, assets, pilots, imports
    SITE_ADMIN = "site.admin"  # consent, tokens, members
    TELEMETRY_WRITE = "telemetry.write"
    ASSESSMENT_REVIEW = "assessment.review"
    ORG_READ = "org.read"
    ORG_ADMIN = "org.admin"
    PROGRAM_READ = "program.read"  # a program's portfolio and aggregates
    PROGRAM_ADMIN = "program.admin"
    LIBRARY_CONTRIBUTE = "library.contribute"
    PLATFORM_ADMIN = "platform.admin"


MIN_AGGREGATE_SITES = 5  # benchmarks and aggregates are published only over >= 5 sites

SITE_ROLE_ACTIONS: Mapping[Role, frozenset[Action]] = {
    Role.SITE_MEMBER: frozenset({Action.SITE_READ, Action.SITE_WRITE, Action.TELEMETRY_WRITE}),
    Role.SITE_ADMIN: frozenset(
        {Action.SITE_READ, Action.SITE_WRITE, Action.TELEMETRY_WRITE, Action.SITE_ADMIN}
    ),
    Role.ASSESSOR: frozenset({Action.SITE_READ, Action.ASSESSMENT_REVIEW}),
    # On the program's *own* sites (its air and effluent monitoring stations) a program admin is
    # their administrator; on enrolled factories it only reads, and only with consent.
    Role.PROGRAM_ADMIN: frozenset(
        {Action.SITE_READ, Action.SITE_WRITE, Action.TELEMETRY_WRITE, Action.SITE_ADMIN}
    ),
}
TOKEN_SCOPE_ACTIONS: Mapping[Scope, frozenset[Action]] = {
    Scope.READ: frozenset({Action.SITE_READ}),
    Scope.WRITE: frozenset({Action.SITE_READ, Action.SITE_WRITE, Action.TELEMETRY_WRITE}),
}


@dataclass(frozen=True)
class Grant:
    """One membership: a role in an organisation, optionally narrowed to one site."""

    org_id: int
    role: Role
    site_id: int | None = None


@dataclass(frozen=True)
class TokenGrant:
    """What an API token carries: its tenant, optional site, and scope."""

    org_id: int
    scope: Scope
    site_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """The caller: a signed-in user (with grants) or an API token; never both."""

    user_id: int | None = None
    token_id: int | None = None
    grants: tuple[Grant, ...] = ()
    token: TokenGrant | None = None
    label: str = ""

    @property
    def is_platform_admin(self) -> bool:
        return any(g.role is Role.PLATFORM_ADMIN for g in self.grants)


@dataclass(frozen=True)
class SiteFacts:
    """What the policy needs to know about a site: its tenant and its program consents."""

    site_id: int
    org_id: int
    consents: Mapping[int, Consent] = field(default_factory=dict)  # program org id -> consent


@dataclass(frozen=True)
class Decision:
    """The outcome: may the caller see the resource, and may it act on it."""

    visible: bool
    allowed: bool
    reason: str


def _site_actions(principal: Principal, site: SiteFacts) -> frozenset[Action]:
    if principal.is_platform_admin:
        return frozenset(Action)
    if principal.token is not None:
        return _token_site_actions(principal.token, site)
    actions: set[Action] = set()
    for grant in principal.grants:
        if grant.org_id == site.org_id and grant.site_id in (None, site.site_id):
            actions |= SITE_ROLE_ACTIONS.get(grant.role, frozenset())
        elif grant.role is Role.PROGRAM_ADMIN and _consents_details(site, grant.org_id):
            actions.add(Action.SITE_READ)
    return frozenset(actions)


def _consents_details(site: SiteFacts, program_id: int) -> bool:
    return site.consents.get(program_id) == Consent.DETAILS


def _token_site_actions(token: TokenGrant, site: SiteFacts) -> frozenset[Action]:
    if token.org_id == site.org_id and token.site_id in (None, site.site_id):
        return TOKEN_SCOPE_ACTIONS[token.scope]
    if token.scope is Scope.READ and _consents_details(site, token.org_id):
        return frozenset({Action.SITE_READ})  # a program's read token, on consented sites
    return frozenset()


def decide_site(principal: Principal, action: Action, site: SiteFacts) -> Decision:
    """May `principal` do `action` on `site`? Invisible unless some action there is allowed."""
    actions = _site_actions(principal, site)
    if not actions:
        return Decision(False, False, "no grant on this site or its organisation")
    if action in actions:
        return Decision(True, True, f"{action} granted")
    return Decision(True, False, f"{action} not granted by the caller's roles or scope")


def decide_org(principal: Principal, action: Action, org_id: int, kind: OrgKind) -> Decision:
    """Organisation-level actions: membership reads, org-wide site admins administer."""
    if principal.is_platform_admin:
        return Decision(True, True, "platform admin")
    if principal.token is not None:
        member = principal.token.org_id == org_id
        ok = member and action is Action.ORG_READ
        return Decision(member, ok, "token of this organisation" if member else "foreign token")
    roles = {g.role for g in principal.grants if g.org_id == org_id}
    if not roles:
        return Decision(False, False, "not a member of this organisation")
    org_wide_admin = any(
        g.org_id == org_id and g.site_id is None and g.role is Role.SITE_ADMIN
        for g in principal.grants
    )
    allowed = {
        Action.ORG_READ: True,
        Action.ORG_ADMIN: org_wide_admin,
        Action.PROGRAM_READ: kind is OrgKind.PROGRAM and Role.PROGRAM_ADMIN in roles,
        Action.PROGRAM_ADMIN: kind is OrgKind.PROGRAM and Role.PROGRAM_ADMIN in roles,
    }.get(action, False)
    return Decision(True, allowed, f"{action} {'granted' if allowed else 'not granted'}")


def decide_global(principal: Principal, action: Action) -> Decision:
    """Actions not bound to one tenant: contributing to the library, platform administration."""
    if principal.is_platform_admin:
        return Decision(True, True, "platform admin")
    if action is Action.LIBRARY_CONTRIBUTE:
        ok = any(g.role is Role.CONTRIBUTOR for g in principal.grants)
        return Decision(True, ok, "contributor" if ok else "no contributor role")
    return Decision(True, False, f"{action} needs a platform admin")
