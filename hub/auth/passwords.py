"""The password policy: at least 12 characters, and not one of the 30,000 most common passwords.

No composition rules (they make passwords worse, not longer). The list ships compressed beside
this module (scripts/build_common_passwords.py makes it); a password is refused when it, or
what is left once the digits and symbols around it and a repetition are taken away, is on it:
"Password123456" and "dragondragon" are as guessable as "password" and "dragon".
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
LIST_FILE = Path(__file__).with_name("common_passwords.txt.gz")

_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


class WeakPassword(ValueError):
    """The password breaks the policy; the message says which rule, for the person typing it."""


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(LIST_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(
            line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")
        )


def _unrepeated(word: str) -> str:
    """'abcabcabc' → 'abc': the shortest unit the word repeats, else the word."""
    for size in range(1, len(word) // 2 + 1):
        if len(word) % size == 0 and word[:size] * (len(word) // size) == word:
            return word[:size]
    return word


def _forms(password: str) -> set[str]:
    lowered = password.lower()
    core = _EDGES.sub("", lowered)
    return {f for f in (lowered, core, _unrepeated(lowered), _unrepeated(core)) if f}


def check(password: str) -> None:
    """Raise WeakPassword with a clear message when the policy refuses the password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > 1024:
        raise WeakPassword("the password must be at most 1024 characters long")
    listed = common_passwords()
    if any(form in listed for form in _forms(password)):
        raise WeakPassword(
            "this password is one of the most common passwords (or one with digits or symbols"
            " added): choose a less guessable one, e.g. a few unrelated words"
        )
    if len(set(password)) < 4:
        raise WeakPassword("the password must use more than three different characters")
