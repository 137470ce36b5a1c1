"""Roles and what each may do: the one place permissions are decided."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Permission(StrEnum):
    MANAGE_INBOXES = "inboxes.manage"
    MANAGE_AGENTS = "agents.manage"
    MANAGE_TEAMS = "teams.manage"
    VIEW_ALL_CONVERSATIONS = "conversations.view_all"
    VIEW_AUDIT_LOG = "audit.view"
    RUN_DIAGNOSTICS = "diagnostics.run"
    USE_API_KEYS = "api_keys.use"
    MANAGE_SLA = "sla.manage"
    MANAGE_CRM = "crm.manage"  # CRM sources (credentials) and starting syncs
    MANAGE_MACROS = "macros.manage"  # macros shared with a team or everyone
    MANAGE_WEBHOOKS = "webhooks.manage"  # outgoing webhook subscriptions and their log


_ALL = frozenset(Role)

GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.MANAGE_INBOXES: frozenset({Role.ADMIN}),
    Permission.MANAGE_AGENTS: frozenset({Role.ADMIN}),
    Permission.MANAGE_TEAMS: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.VIEW_ALL_CONVERSATIONS: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.VIEW_AUDIT_LOG: frozenset({Role.ADMIN}),
    Permission.RUN_DIAGNOSTICS: frozenset({Role.ADMIN}),
    Permission.USE_API_KEYS: _ALL,
    Permission.MANAGE_SLA: frozenset({Role.ADMIN}),
    Permission.MANAGE_CRM: frozenset({Role.ADMIN}),
    Permission.MANAGE_MACROS: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.MANAGE_WEBHOOKS: frozenset({Role.ADMIN}),
}


def allowed(role: str, permission: Permission) -> bool:
    try:
        return Role(role) in GRANTS[permission]
    except ValueError:
        return False
