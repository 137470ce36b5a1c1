"""What a role may do: the one place permissions are decided.

A role is a key: one of the three system roles (`Role`), whose permissions are fixed here in code
(`GRANTS`), or an admin-defined role from the `role` table (hub.auth.roles), whose permissions that
module installs here (`install`). Every route, socket and page asks `allowed`, through
web.security's guard or `require` (docs/access.md).

To add a permission: a `Permission` member, a `GRANTS` line naming the system roles that have it
(Admin has every permission whether listed or not), and optionally a `CATALOGUE` line for its group
and label in the roles page (without one it is listed under its prefix with its value as label).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Role(StrEnum):
    """The system roles: always present, not deletable, their permissions fixed by `GRANTS`."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Permission(StrEnum):
    READ_CONVERSATIONS = "conversations.read"
    VIEW_ALL_CONVERSATIONS = "conversations.view_all"
    REPLY = "conversations.reply"
    NOTE = "conversations.note"
    UPDATE_CONVERSATIONS = "conversations.update"
    ASSIGN = "conversations.assign"
    ASSIGN_OTHERS = "conversations.assign_others"
    MERGE_CONVERSATIONS = "conversations.merge"  # merge, split and undo a merge
    MERGE_ACROSS_CONTACTS = "contacts.merge_across"  # merge conversations of different contacts
    READ_CONTACTS = "contacts.read"
    EDIT_CONTACTS = "contacts.edit"
    MERGE_CONTACTS = "contacts.merge"
    VIEW_CRM_CARD = "crm.card"
    VIEW_REPORTS = "reports.view"
    MANAGE_INBOXES = "inboxes.manage"
    MANAGE_TEAMS = "teams.manage"
    MANAGE_AGENTS = "agents.manage"
    MANAGE_ROLES = "roles.manage"
    MANAGE_SLA = "sla.manage"
    MANAGE_AUTOMATION = "automation.manage"
    MANAGE_MACROS = "macros.manage"
    MANAGE_WEBHOOKS = "webhooks.manage"
    MANAGE_CRM = "crm.manage"  # CRM sources (credentials) and starting syncs
    USE_API_KEYS = "api_keys.use"
    VIEW_AUDIT_LOG = "audit.view"
    RUN_DIAGNOSTICS = "diagnostics.run"


_ALL = frozenset(Role)
_STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR})
_ADMIN = frozenset({Role.ADMIN})

# The grants of the system roles (Admin gets every permission in any case). Agent and Supervisor
# keep what earlier versions let them do; narrower sets are custom roles.
GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.READ_CONVERSATIONS: _ALL,
    Permission.VIEW_ALL_CONVERSATIONS: _STAFF,
    Permission.REPLY: _ALL,
    Permission.NOTE: _ALL,
    Permission.UPDATE_CONVERSATIONS: _ALL,
    Permission.ASSIGN: _ALL,
    Permission.ASSIGN_OTHERS: _ALL,
    Permission.MERGE_CONVERSATIONS: _ALL,
    Permission.MERGE_ACROSS_CONTACTS: _STAFF,
    Permission.READ_CONTACTS: _ALL,
    Permission.EDIT_CONTACTS: _ALL,
    Permission.MERGE_CONTACTS: _ALL,
    Permission.VIEW_CRM_CARD: _ALL,
    Permission.VIEW_REPORTS: _STAFF,
    Permission.MANAGE_INBOXES: _ADMIN,
    Permission.MANAGE_TEAMS: _STAFF,
    Permission.MANAGE_AGENTS: _ADMIN,
    Permission.MANAGE_ROLES: _ADMIN,
    Permission.MANAGE_SLA: _ADMIN,
    Permission.MANAGE_AUTOMATION: _STAFF,
    Permission.MANAGE_MACROS: _STAFF,
    Permission.MANAGE_WEBHOOKS: _ADMIN,
    Permission.MANAGE_CRM: _ADMIN,
    Permission.USE_API_KEYS: _ALL,
    Permission.VIEW_AUDIT_LOG: _ADMIN,
    Permission.RUN_DIAGNOSTICS: _ADMIN,
}

# For the roles page: (group, label) of each permission, in the order they are shown.
CATALOGUE: dict[Permission, tuple[str, str]] = {
    Permission.READ_CONVERSATIONS: ("Conversations", "Read conversations of their inboxes"),
    Permission.VIEW_ALL_CONVERSATIONS: ("Conversations", "Read conversations of every inbox"),
    Permission.REPLY: ("Conversations", "Reply to customers"),
    Permission.NOTE: ("Conversations", "Write private notes"),
    Permission.UPDATE_CONVERSATIONS: ("Conversations", "Change status, priority, tags"),
    Permission.ASSIGN: ("Conversations", "Assign to themselves, move between teams"),
    Permission.ASSIGN_OTHERS: ("Conversations", "Assign to or unassign other agents"),
    Permission.MERGE_CONVERSATIONS: (
        "Conversations",
        "Merge and split conversations, undo a merge",
    ),
    Permission.MERGE_ACROSS_CONTACTS: ("Contacts", "Merge conversations of different contacts"),
    Permission.READ_CONTACTS: ("Contacts", "Read contacts"),
    Permission.EDIT_CONTACTS: ("Contacts", "Edit contacts and their identities"),
    Permission.MERGE_CONTACTS: ("Contacts", "Merge and unmerge contacts"),
    Permission.VIEW_CRM_CARD: ("CRM", "See the customer card"),
    Permission.MANAGE_CRM: ("CRM", "CRM settings and syncs"),
    Permission.VIEW_REPORTS: ("Reports", "See reports"),
    Permission.MANAGE_INBOXES: ("Settings", "Inboxes and channels"),
    Permission.MANAGE_TEAMS: ("Settings", "Teams and routing"),
    Permission.MANAGE_AGENTS: ("Settings", "Agents: invite, change role, deactivate"),
    Permission.MANAGE_ROLES: ("Settings", "Roles and permissions"),
    Permission.MANAGE_SLA: ("Settings", "SLA policies and business hours"),
    Permission.MANAGE_AUTOMATION: ("Settings", "Automation rules"),
    Permission.MANAGE_MACROS: ("Settings", "Shared macros"),
    Permission.MANAGE_WEBHOOKS: ("Settings", "Webhooks"),
    Permission.USE_API_KEYS: ("Access", "Create and use personal API keys"),
    Permission.VIEW_AUDIT_LOG: ("Access", "See and export the audit log"),
    Permission.RUN_DIAGNOSTICS: ("Access", "Run diagnostics"),
}


def describe(permission: Permission) -> tuple[str, str]:
    """(group, label); a permission added without a catalogue line still shows, by its prefix."""
    return CATALOGUE.get(permission, (permission.value.split(".")[0].title(), permission.value))


def system_permissions(role: Role) -> frozenset[Permission]:
    if role is Role.ADMIN:
        return frozenset(Permission)  # every permission, present and future: no lock-out
    return frozenset(p for p, roles in GRANTS.items() if role in roles)


_SYSTEM: dict[str, frozenset[Permission]] = {r.value: system_permissions(r) for r in Role}
# Admin-defined roles, as last loaded from the database by hub.auth.roles (a snapshot).
_custom: dict[str, frozenset[Permission]] = {}


def install(custom: Mapping[str, Iterable[str]]) -> None:
    """Replace the snapshot of admin-defined roles; unknown permission names are ignored (a
    permission removed from the code leaves its name in stored roles, harmlessly)."""
    known = {p.value for p in Permission}
    global _custom
    _custom = {
        key: frozenset(Permission(p) for p in perms if p in known)
        for key, perms in custom.items()
        if key not in _SYSTEM
    }


def permissions_of(role: str) -> frozenset[Permission]:
    """A role's permissions; an unknown role has none."""
    return _SYSTEM.get(role) or _custom.get(role, frozenset())


def allowed(role: str, permission: Permission) -> bool:
    return permission in permissions_of(role)


def roles_with(permission: Permission) -> list[str]:
    """Every role key that has the permission (for queries that filter agents by role)."""
    return sorted(k for k, v in (_SYSTEM | _custom).items() if permission in v)
