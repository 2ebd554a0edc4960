"""The policy core as a full matrix: every role x resource kind x action x own/foreign tenant."""

from __future__ import annotations

import itertools

import pytest

from lighthouse_os.auth.policy import (
    Action,
    Consent,
    Grant,
    OrgKind,
    Principal,
    Role,
    Scope,
    SiteFacts,
    TokenGrant,
    decide_global,
    decide_org,
    decide_site,
)

OWN_ORG, FOREIGN_ORG, PROGRAM = 1, 2, 9
OWN_SITE = SiteFacts(10, OWN_ORG, {PROGRAM: Consent.DETAILS})
FOREIGN_SITE = SiteFacts(20, FOREIGN_ORG, {PROGRAM: Consent.AGGREGATE})
OTHER_SITE_SAME_ORG = SiteFacts(11, OWN_ORG, {})
STATION = SiteFacts(30, PROGRAM, {})  # a monitoring station the program itself owns
TARGETS = {"own": OWN_SITE, "foreign": FOREIGN_SITE, "sibling": OTHER_SITE_SAME_ORG}
TARGETS["station"] = STATION

PRINCIPALS: dict[str, Principal] = {
    "anonymous-like": Principal(),
    "site_member": Principal(user_id=1, grants=(Grant(OWN_ORG, Role.SITE_MEMBER, 10),)),
    "site_admin": Principal(user_id=2, grants=(Grant(OWN_ORG, Role.SITE_ADMIN, 10),)),
    "org_admin": Principal(user_id=3, grants=(Grant(OWN_ORG, Role.SITE_ADMIN, None),)),
    "assessor": Principal(user_id=4, grants=(Grant(OWN_ORG, Role.ASSESSOR, 10),)),
    "program_admin": Principal(user_id=5, grants=(Grant(PROGRAM, Role.PROGRAM_ADMIN),)),
    "contributor": Principal(user_id=6, grants=(Grant(7, Role.CONTRIBUTOR),)),
    "platform_admin": Principal(user_id=8, grants=(Grant(7, Role.PLATFORM_ADMIN),)),
    "token_write": Principal(token_id=1, token=TokenGrant(OWN_ORG, Scope.WRITE, 10)),
    "token_read": Principal(token_id=2, token=TokenGrant(OWN_ORG, Scope.READ, 10)),
    "program_token": Principal(token_id=3, token=TokenGrant(PROGRAM, Scope.READ)),
}
SITE_ACTIONS = (
    Action.SITE_READ,
    Action.SITE_WRITE,
    Action.SITE_ADMIN,
    Action.TELEMETRY_WRITE,
    Action.ASSESSMENT_REVIEW,
)
ALL = frozenset(SITE_ACTIONS)
NONE: frozenset[Action] = frozenset()
MEMBER = frozenset({Action.SITE_READ, Action.SITE_WRITE, Action.TELEMETRY_WRITE})

ADMIN = MEMBER | {Action.SITE_ADMIN}
READ = frozenset({Action.SITE_READ})

# Allowed site actions per principal on (own site, foreign site, other site of the own org,
# the program's own station).
EXPECTED_SITE: dict[str, tuple[frozenset[Action], ...]] = {
    "anonymous-like": (NONE, NONE, NONE, NONE),
    "site_member": (MEMBER, NONE, NONE, NONE),
    "site_admin": (ADMIN, NONE, NONE, NONE),
    "org_admin": (ADMIN, NONE, ADMIN, NONE),
    "assessor": (frozenset({Action.SITE_READ, Action.ASSESSMENT_REVIEW}), NONE, NONE, NONE),
    # Reads an enrolled factory with details consent (not with aggregate consent); administers
    # the program's own stations.
    "program_admin": (READ, NONE, NONE, ADMIN),
    "contributor": (NONE, NONE, NONE, NONE),
    "platform_admin": (ALL, ALL, ALL, ALL),
    "token_write": (MEMBER, NONE, NONE, NONE),
    "token_read": (READ, NONE, NONE, NONE),
    "program_token": (READ, NONE, NONE, READ),
}


@pytest.mark.parametrize(
    ("who", "action", "target"),
    list(itertools.product(PRINCIPALS, SITE_ACTIONS, TARGETS)),
)
def test_policy_site_matrix(who: str, action: Action, target: str) -> None:
    site = TARGETS[target]
    expected = EXPECTED_SITE[who][list(TARGETS).index(target)]
    decision = decide_site(PRINCIPALS[who], action, site)
    assert decision.allowed == (action in expected)
    # Visible exactly when the caller may do anything there: otherwise 404, never 403.
    assert decision.visible == bool(expected)


ORG_ACTIONS = (Action.ORG_READ, Action.ORG_ADMIN, Action.PROGRAM_READ, Action.PROGRAM_ADMIN)
# Allowed org actions per principal on (own manufacturer, foreign manufacturer, the program).
EXPECTED_ORG: dict[str, tuple[frozenset[Action], frozenset[Action], frozenset[Action]]] = {
    "anonymous-like": (NONE, NONE, NONE),
    "site_member": (frozenset({Action.ORG_READ}), NONE, NONE),
    "site_admin": (frozenset({Action.ORG_READ}), NONE, NONE),
    "org_admin": (frozenset({Action.ORG_READ, Action.ORG_ADMIN}), NONE, NONE),
    "assessor": (frozenset({Action.ORG_READ}), NONE, NONE),
    "program_admin": (NONE, NONE, frozenset(ORG_ACTIONS) - {Action.ORG_ADMIN}),
    "contributor": (NONE, NONE, NONE),
    "platform_admin": (frozenset(ORG_ACTIONS),) * 3,
    "token_write": (frozenset({Action.ORG_READ}), NONE, NONE),
    "token_read": (frozenset({Action.ORG_READ}), NONE, NONE),
    "program_token": (NONE, NONE, frozenset({Action.ORG_READ})),
}


@pytest.mark.parametrize(
    ("who", "action", "target"),
    list(itertools.product(PRINCIPALS, ORG_ACTIONS, ("own", "foreign", "program"))),
)
def test_policy_org_matrix(who: str, action: Action, target: str) -> None:
    org_id, kind = {
        "own": (OWN_ORG, OrgKind.MANUFACTURER),
        "foreign": (FOREIGN_ORG, OrgKind.MANUFACTURER),
        "program": (PROGRAM, OrgKind.PROGRAM),
    }[target]
    expected = EXPECTED_ORG[who][("own", "foreign", "program").index(target)]
    assert decide_org(PRINCIPALS[who], action, org_id, kind).allowed == (action in expected)


@pytest.mark.parametrize("who", list(PRINCIPALS))
@pytest.mark.parametrize("action", [Action.LIBRARY_CONTRIBUTE, Action.PLATFORM_ADMIN])
def test_policy_global_actions(who: str, action: Action) -> None:
    expected = who == "platform_admin" or (
        who == "contributor" and action is Action.LIBRARY_CONTRIBUTE
    )
    assert decide_global(PRINCIPALS[who], action).allowed == expected


def test_policy_program_loses_details_when_consent_is_aggregate() -> None:
    program_admin = PRINCIPALS["program_admin"]
    details = SiteFacts(10, OWN_ORG, {PROGRAM: Consent.DETAILS})
    aggregate = SiteFacts(10, OWN_ORG, {PROGRAM: Consent.AGGREGATE})
    assert decide_site(program_admin, Action.SITE_READ, details).allowed
    assert not decide_site(program_admin, Action.SITE_READ, aggregate).visible
