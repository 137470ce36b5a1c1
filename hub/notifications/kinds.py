"""The kinds of notification and each agent's preferences for them (pure, no database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import msgspec


class Kind(StrEnum):
    ASSIGNED = "assigned"  # a conversation was assigned to you
    MESSAGE = "message"  # a new customer message in a conversation assigned to you
    MENTION = "mention"  # you (or your team) were @mentioned in a private note
    SLA_WARNING = "sla_warning"  # yours (or your team's unassigned) is at risk
    SLA_BREACHED = "sla_breached"  # ... or past its deadline
    AUTOMATION = "automation"  # an automation rule's "notify" action


class Preference(msgspec.Struct, frozen=True):
    """Where one kind goes: the bell (in_app), the email digest when away/offline, or nowhere."""

    in_app: bool
    email: bool


# Customer messages come often: they ring the bell, but do not fill a mailbox unless asked.
DEFAULTS: dict[Kind, Preference] = {
    Kind.ASSIGNED: Preference(in_app=True, email=True),
    Kind.MESSAGE: Preference(in_app=True, email=False),
    Kind.MENTION: Preference(in_app=True, email=True),
    Kind.SLA_WARNING: Preference(in_app=True, email=False),
    Kind.SLA_BREACHED: Preference(in_app=True, email=True),
    Kind.AUTOMATION: Preference(in_app=True, email=True),
}


class InvalidPreference(ValueError):
    pass


def effective(stored: Mapping[str, Preference]) -> dict[str, Preference]:
    """Every kind's preference: what the agent stored, else the default."""
    return {kind.value: stored.get(kind.value, DEFAULTS[kind]) for kind in Kind}


def check_kinds(kinds: Iterable[str]) -> None:
    known = {k.value for k in Kind}
    unknown = sorted(set(kinds) - known)
    if unknown:
        raise InvalidPreference(
            f"unknown notification kind(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
