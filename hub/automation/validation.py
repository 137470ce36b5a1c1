"""Reading a rule from JSON: msgspec checks the shape, this module walks the condition tree and
says where a problem is (`conditions.all[2].value: expected a number`), and checks that the
agents, teams, policies and calendars a rule names exist.

A rule is compiled once into `Compiled`: the tree with leaves as structs and regular
expressions compiled (RE2: matching is linear in the text, so no pattern can hang a worker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import re2

from hub.automation import model
from hub.automation.model import Leaf, Rule
from hub.routing import requirements

MAX_DEPTH = 8
MAX_NODES = 200

_TYPES = {
    "float": "a number",
    "int": "a whole number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
_EXPECTED = re.compile(r"^Expected `([a-z]+)(?: \| ([a-z]+))?`(.*?)(?:, got `(\w+)`)?$")


class InvalidRule(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def _words(message: str) -> str:
    """msgspec's sentence, said for people: "Expected `float`, got `str`" → "expected a number"."""
    found = _EXPECTED.match(message)
    if found:
        first, second, bound, got = found.groups()
        said = _TYPES.get(first, first)
        if second:
            said += f" or {_TYPES.get(second, second)}"
        text = f"expected {said}{bound}"
        return text + (f", got {_TYPES.get(got, got)}" if got else "")
    return message[:1].lower() + message[1:].replace("`", "")


def _error(exc: msgspec.ValidationError, prefix: str) -> InvalidRule:
    message, _, where = str(exc).partition(" - at `$")
    path = prefix + where.rstrip("`")
    missing = re.match(r"Object missing required field `(\w+)`", message)
    if missing:
        return InvalidRule(f"{path}.{missing.group(1)}".lstrip("."), "required")
    return InvalidRule(path.lstrip("."), _words(message))


@dataclass(frozen=True)
class Node:
    kind: str  # "all", "any", "not", "leaf"
    path: str
    children: tuple[Node, ...] = ()
    leaf: Leaf | None = None
    pattern: Any = None  # a compiled RE2 pattern for "matches"
    # A list value, lower-cased, as a set: built once, not at every evaluation.
    wanted: frozenset[Any] = frozenset()


def _compile_leaf(raw: Any, path: str) -> Node:
    try:
        leaf = msgspec.convert(raw, Leaf)
    except msgspec.ValidationError as exc:
        raise _error(exc, path) from None
    pattern = None
    if isinstance(leaf, model.MessageText | model.Subject) and leaf.op.endswith("matches"):
        options = re2.Options()
        options.case_sensitive = leaf.case_sensitive
        options.max_mem = 8 << 20  # a pattern's automaton is capped; a bigger one is refused
        try:
            pattern = re2.compile(leaf.value, options)
        except re2.error as exc:
            raise InvalidRule(f"{path}.value", f"not a valid pattern ({exc})") from None
    value = getattr(leaf, "value", None)
    wanted: frozenset[Any] = frozenset()
    if isinstance(value, list):
        wanted = frozenset(v.strip().lower() if isinstance(v, str) else v for v in value)
    return Node("leaf", path, leaf=leaf, pattern=pattern, wanted=wanted)


def compile_tree(raw: Any, path: str = "conditions", depth: int = 0) -> Node:
    if depth > MAX_DEPTH:
        raise InvalidRule(path, f"conditions nest deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, dict):
        raise InvalidRule(path, "expected an object")
    if not raw:
        return Node("all", path)
    groups = [k for k in ("all", "any", "not") if k in raw]
    if not groups:
        return _compile_leaf(raw, path)
    if len(raw) != 1:
        raise InvalidRule(path, "a group has one key: all, any or not")
    kind = groups[0]
    if kind == "not":
        return Node("not", path, (compile_tree(raw["not"], f"{path}.not", depth + 1),))
    items = raw[kind]
    if not isinstance(items, list):
        raise InvalidRule(f"{path}.{kind}", "expected a list")
    return Node(
        kind,
        path,
        tuple(compile_tree(item, f"{path}.{kind}[{n}]", depth + 1) for n, item in enumerate(items)),
    )


def leaves(node: Node) -> list[Node]:
    if node.kind == "leaf":
        return [node]
    return [leaf for child in node.children for leaf in leaves(child)]


def to_json(node: Node) -> dict[str, Any]:
    if node.kind == "leaf":
        return dict(msgspec.to_builtins(node.leaf))
    if node.kind == "not":
        return {"not": to_json(node.children[0])}
    if node.kind == "all" and not node.children:
        return {}
    return {node.kind: [to_json(child) for child in node.children]}


def required_words(tree: Node) -> tuple[str, ...]:
    """Lower-case words the event's text must contain for the rule to match at all: the
    case-insensitive `contains` leaves at the top of the tree (itself, or directly under its
    `all`). One `in` test each per event decides most rules before anything else is looked at."""
    nodes = tree.children if tree.kind == "all" else (tree,)
    return tuple(
        n.leaf.value.lower()
        for n in nodes
        if isinstance(n.leaf, model.MessageText)
        and n.leaf.op == "contains"
        and not n.leaf.case_sensitive
    )


@dataclass(frozen=True)
class Compiled:
    id: int
    position: int
    rule: Rule
    tree: Node
    words: tuple[str, ...] = ()  # required_words(tree): filled in by the constructors below
    # Has a leaf the event alone can decide (message text, inbox, CSAT rating)?
    quick: bool = False

    @classmethod
    def of(cls, rule_id: int, position: int, rule: Rule, tree: Node) -> Compiled:
        decidable = (model.MessageText, model.Inbox, model.CsatRating)
        quick = any(isinstance(n.leaf, decidable) for n in leaves(tree))
        return cls(rule_id, position, rule, tree, required_words(tree), quick)

    @property
    def trigger(self) -> str:
        return model.tag_of(self.rule.trigger)


def parse(raw: Any) -> tuple[Rule, Node]:
    """A rule from its JSON (decoded), or `InvalidRule` with the path of the first bad node."""
    if not isinstance(raw, dict):
        raise InvalidRule("", "a rule is a JSON object")
    try:
        rule = msgspec.convert(raw, Rule)
    except msgspec.ValidationError as exc:
        raise _error(exc, "") from None
    tree = compile_tree(rule.conditions)
    if len(leaves(tree)) > MAX_NODES:
        raise InvalidRule("conditions", f"at most {MAX_NODES} conditions")
    for n, action in enumerate(rule.actions):
        if isinstance(action, model.SetStatus):
            snoozing = action.status == "snoozed"
            if snoozing != (action.snooze_minutes is not None):
                raise InvalidRule(
                    f"actions[{n}].snooze_minutes", "needed with status snoozed, and only then"
                )
        if isinstance(action, model.SetRequirements):
            try:
                requirements.clean(action.requirements)
            except requirements.InvalidSkills as exc:
                raise InvalidRule(f"actions[{n}].requirements", str(exc)) from None
        if isinstance(action, model.Notify) and not action.agent_ids and action.team_id is None:
            raise InvalidRule(f"actions[{n}]", "notify needs agent_ids or team_id")
    return rule, tree


def definition(rule: Rule, tree: Node) -> dict[str, Any]:
    """What is stored: the normalised rule (defaults filled in), without its name and order."""
    data = dict(msgspec.to_builtins(rule))
    data["conditions"] = to_json(tree)
    for key in ("name", "enabled", "position"):
        data.pop(key, None)
    return data


# Referenced rows, checked before a rule is stored: (table, label, paths with ids).
async def check_references(conn: asyncpg.Connection, rule: Rule, tree: Node) -> None:
    wanted: list[tuple[str, str, str, int]] = []  # (table, label, path, id)
    timed = rule.trigger
    if isinstance(timed, model.TIME_TRIGGERS) and timed.business_hours_id is not None:
        wanted.append(("business_hours", "business hours", "trigger.business_hours_id", timed.business_hours_id))  # fmt: skip
    for node in leaves(tree):
        leaf = node.leaf
        if isinstance(leaf, model.BusinessHours):
            wanted.append(("business_hours", "business hours", f"{node.path}.business_hours_id", leaf.business_hours_id))  # fmt: skip
    for n, action in enumerate(rule.actions):
        at = f"actions[{n}]"
        if isinstance(action, model.AssignAgent):
            wanted.append(("agent", "agent", f"{at}.agent_id", action.agent_id))
        elif isinstance(action, model.AssignTeam):
            wanted.append(("team", "team", f"{at}.team_id", action.team_id))
        elif isinstance(action, model.ApplySla) and action.policy_id is not None:
            wanted.append(("sla_policy", "SLA policy", f"{at}.policy_id", action.policy_id))
        elif isinstance(action, model.Notify):
            if action.team_id is not None:
                wanted.append(("team", "team", f"{at}.team_id", action.team_id))
            for k, agent in enumerate(action.agent_ids):
                wanted.append(("agent", "agent", f"{at}.agent_ids[{k}]", agent))
    if rule.inbox_ids:
        for k, inbox in enumerate(rule.inbox_ids):
            wanted.append(("inbox", "inbox", f"inbox_ids[{k}]", inbox))
    for table, label, path, row_id in wanted:
        # The table names come from the list above, never from the request.
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)", row_id):
            raise InvalidRule(path, f"no {label} {row_id}")
