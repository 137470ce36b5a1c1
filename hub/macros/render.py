"""Macro text: `{{ contact.name }}`-style variables filled from a conversation, its contact, the
agent and the contact's CRM customer.

The templates are Jinja2 in a sandboxed environment (jinja2 is already a dependency, through
Litestar's templates, and well kept): agents write them, so no attribute of a Python object is
reachable, and `StrictUndefined` turns a name the context lacks into an error rather than an
empty string. The context itself is plain dicts of strings built here, so whatever a template
does it can only read these values. Filters and `{% if %}` stay available
(`{{ contact.name | default("there", true) }}`). Which variables exist is a fixed catalogue
(`VARIABLES`): `check_variables` walks the parsed template and names every reference outside it,
so a macro with a typo is refused when it is saved, not when a customer would read the result.
"""

from __future__ import annotations

import decimal
from typing import Any

import asyncpg
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

# Every variable a macro may use, with what it is (shown in the macro editor and docs/macros.md).
VARIABLES: dict[str, str] = {
    "contact.name": "the customer's name",
    "contact.first_name": "the first word of the customer's name",
    "contact.email": "the customer's email address",
    "contact.phone": "the customer's phone number",
    "conversation.id": "the conversation's id",
    "conversation.ref": "the conversation's reference number (#1042 without the #)",
    "conversation.subject": "the subject (email)",
    "conversation.status": "open, pending, snoozed, resolved or closed",
    "conversation.priority": "none, low, medium, high or urgent",
    "conversation.inbox": "the inbox's name",
    "conversation.channel": "the channel kind (email, whatsapp_cloud, telegram, …)",
    "agent.name": "the agent sending the macro",
    "agent.first_name": "the first word of the agent's name",
    "agent.email": "the agent's email address",
    "crm.customer.id": "the CRM's id of the linked customer",
    "crm.customer.login": "the customer's login in the CRM",
    "crm.customer.name": "the customer's name in the CRM",
    "crm.customer.status": "the customer's status in the CRM (active, blocked, …)",
    "crm.customer.balance": "the customer's account balance",
    "crm.invoice.overdue_count": "how many unpaid invoices are past due",
    "crm.invoice.overdue_total": "the amount due on overdue invoices",
    "crm.invoice.open_count": "how many invoices are unpaid",
    "crm.invoice.open_total": "the amount due on unpaid invoices",
    "crm.service.statuses": "the statuses of the customer's services, comma-separated",
}


class TemplateError(ValueError):
    """The template cannot be parsed or rendered, or uses what macros may not."""


# What a macro may do beyond printing variables. Anyone may write a personal macro, and the
# sandbox bounds `range` but not work in general: loops, `*` and `**` (which Jinja even
# constant-folds while compiling), `%` widths, padding or chained `replace` filters could make
# one render take a worker's CPU or memory. The values are short strings, so none of that is needed.
FILTERS = frozenset(
    {"default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "first",
     "last", "length", "string", "int", "float", "round", "abs"}
)  # fmt: skip
_REFUSED: dict[type[nodes.Node], str] = {
    nodes.For: "loops",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.Mul: "the * operator",
    nodes.Pow: "the ** operator",
    nodes.Mod: "the % operator",  # printf-style widths ("%999999999s")
    nodes.Import: "imports",
    nodes.FromImport: "imports",
    nodes.Include: "includes",
    nodes.Extends: "extends",
}


def _check_safe(node: nodes.Node) -> None:
    for child in node.find_all(nodes.Node):
        refused = _REFUSED.get(type(child))
        if refused:
            raise TemplateError(f"line {child.lineno}: macros may not use {refused}")
        if isinstance(child, nodes.Filter) and child.name not in FILTERS:
            raise TemplateError(
                f"line {child.lineno}: unknown filter {child.name!r}; macros may use"
                f" {', '.join(sorted(FILTERS))}"
            )


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _path(node: nodes.Node) -> str | None:
    """`a.b.c` (or `a["b"]`) as a dotted path; None if the chain does not start at a name."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return ".".join(reversed(parts))
        else:
            return None


def _references(node: nodes.Node, roots: set[str], found: list[str]) -> None:
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
        path = _path(node)
        if path is not None:
            if path.split(".", 1)[0] in roots and path not in found:
                found.append(path)
            return
    for child in node.iter_child_nodes():
        _references(child, roots, found)


def check_variables(template: str) -> list[str]:
    """The variables `template` uses that the catalogue does not know, in order of appearance.

    A reference to a group rather than a value (`{{ crm.customer }}`) is unknown too. Raises
    TemplateError when the template does not parse."""
    parsed = _parse(template)
    # Names the template binds itself ({% set %}, loop variables) are not context variables.
    roots = set(find_undeclared_variables(parsed))
    found: list[str] = []
    _references(parsed, roots, found)
    return [path for path in found if path not in VARIABLES]


def _parse(template: str) -> nodes.Template:
    try:
        parsed = _env.parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from exc
    _check_safe(parsed)
    return parsed


def _money(value: Any) -> str:
    if value is None:
        return ""
    return f"{decimal.Decimal(value):.2f}"


def _first(name: str) -> str:
    return name.split()[0] if name.split() else ""


_CONTEXT = """
SELECT c.id, c.ref, c.subject, c.status, c.priority, i.name AS inbox, i.channel,
       ct.id AS contact_id, ct.name AS contact_name,
       (SELECT address FROM contact_identity WHERE contact = ct.id AND kind = 'email'
         ORDER BY id LIMIT 1) AS email,
       (SELECT address FROM contact_identity WHERE contact = ct.id AND kind IN ('phone', 'whatsapp')
         ORDER BY id LIMIT 1) AS phone,
       a.name AS agent_name, a.email AS agent_email
  FROM conversation c JOIN inbox i ON i.id = c.inbox JOIN contact ct ON ct.id = c.contact
  LEFT JOIN agent a ON a.id = $2
 WHERE c.id = $1
"""

# The contact's customer as the card chooses it: the one an agent linked, else the only match.
# An ambiguous match (several customers, none chosen) gives no CRM values rather than a guess.
_CRM = """
SELECT f.how, f.external_id, c.login, c.name, f.customer_status, f.balance, f.overdue_invoice_count,
       f.overdue_amount, f.open_invoice_count, f.open_amount, f.service_statuses
  FROM crm_contact_facts f JOIN crm_customer c ON c.id = f.customer
 WHERE f.contact = $1
 ORDER BY (f.how = 'manual') DESC, f.customer
"""


async def context(
    conn: asyncpg.Connection, *, conversation_id: int, agent_id: int | None
) -> dict[str, Any]:
    """Every catalogue variable's value for this conversation and agent ('' when unknown)."""
    from hub.auth.access import NotFound

    row = await conn.fetchrow(_CONTEXT, conversation_id, agent_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    facts = await conn.fetch(_CRM, row["contact_id"])
    manual = [f for f in facts if f["how"] == "manual"]
    chosen = manual[0] if len(manual) == 1 else facts[0] if len(facts) == 1 else None
    contact_name = row["contact_name"] or ""
    agent_name = row["agent_name"] or ""
    return {
        "contact": {
            "name": contact_name,
            "first_name": _first(contact_name),
            "email": row["email"] or "",
            "phone": row["phone"] or "",
        },
        "conversation": {
            "id": str(row["id"]),
            "ref": str(row["ref"]),
            "subject": row["subject"] or "",
            "status": row["status"],
            "priority": row["priority"],
            "inbox": row["inbox"],
            "channel": row["channel"],
        },
        "agent": {
            "name": agent_name,
            "first_name": _first(agent_name),
            "email": row["agent_email"] or "",
        },
        "crm": _crm(chosen),
    }


def _crm(fact: asyncpg.Record | None) -> dict[str, dict[str, str]]:
    if fact is None:  # no customer linked: every CRM variable is empty, none is undefined
        groups: dict[str, dict[str, str]] = {"customer": {}, "invoice": {}, "service": {}}
        for key in VARIABLES:
            if key.startswith("crm."):
                _, group, name = key.split(".")
                groups[group][name] = ""
        return groups
    return {
        "customer": {
            "id": str(fact["external_id"]),
            "login": fact["login"] or "",
            "name": fact["name"] or "",
            "status": fact["customer_status"] or "",
            "balance": _money(fact["balance"]),
        },
        "invoice": {
            "overdue_count": str(fact["overdue_invoice_count"]),
            "overdue_total": _money(fact["overdue_amount"]),
            "open_count": str(fact["open_invoice_count"]),
            "open_total": _money(fact["open_amount"]),
        },
        "service": {"statuses": ", ".join(fact["service_statuses"] or [])},
    }


def render_with(template: str, values: dict[str, Any]) -> str:
    """Render against an already built context (several macros, one conversation)."""
    parsed = _parse(template)  # the same limits as when saved, before Jinja compiles anything
    try:
        return _env.from_string(parsed).render(values)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from exc
    except Exception as exc:  # undefined names, sandbox refusals, bad filter arguments
        raise TemplateError(str(exc)) from exc


async def render(
    conn: asyncpg.Connection, template: str, *, conversation_id: int, agent_id: int | None
) -> str:
    """The template's text for this conversation, as the given agent (None: the hub itself)."""
    values = await context(conn, conversation_id=conversation_id, agent_id=agent_id)
    return render_with(template, values)
