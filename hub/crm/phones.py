"""Phone numbers from a CRM, as typed by people ("20 12 34 56", "+45 2012 3456", "0045…"),
brought to E.164 so they match the hub's phone identities (WhatsApp, SMS)."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers


def to_e164(raw: str, region: str) -> str | None:
    """E.164 for a number written locally (read in `region`) or internationally; None if none."""
    text = raw.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" rather than "valid": a CRM's customers include new number ranges and
    # extensions the metadata may not know yet, and a wrong match needs both sides to be wrong.
    if not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The hub's own rule for phone identities (hub.contacts.identities): 6 to 15 digits.
    return formatted if 6 <= len(formatted) - 1 <= 15 else None


def all_e164(values: Iterable[str], region: str) -> list[str]:
    seen: list[str] = []
    for value in values:
        number = to_e164(value, region)
        if number and number not in seen:
            seen.append(number)
    return seen


def valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS
