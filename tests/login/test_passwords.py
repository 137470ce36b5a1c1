"""The password policy: length, the shipped common-password list and its simple disguises."""

from __future__ import annotations

import pytest

from hub.auth import passwords


def test_the_shipped_list_is_large_and_lower_case() -> None:
    listed = passwords.common_passwords()
    assert len(listed) >= 10_000
    assert {"password", "123456", "qwerty", "dragon", "sunshine"} <= listed
    assert all(word == word.lower() for word in listed)


@pytest.mark.parametrize(
    "weak",
    [
        "password1234",  # listed word + digits
        "Password123456!",  # capitalised, digits and a symbol
        "dragondragon",  # a listed word repeated
        "qwertyuiop123",
        "!!sunshine2024!!",
        "aaaaaaaaaaaaaaaa",  # too few different characters
    ],
)
def test_common_passwords_and_their_disguises_are_refused(weak: str) -> None:
    with pytest.raises(passwords.WeakPassword):
        passwords.check(weak)


def test_short_ones_are_refused_with_the_rule() -> None:
    with pytest.raises(passwords.WeakPassword, match="at least 12 characters"):
        passwords.check("Tr0ub4dor&3")


@pytest.mark.parametrize(
    "good", ["correct horse battery", "plum kettle orbit sand", "hub-demo-admin", "Zq9!vL2#pW7@"]
)
def test_long_uncommon_passwords_pass(good: str) -> None:
    passwords.check(good)
