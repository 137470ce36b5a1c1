"""Where an inbox's write-only credentials may go.

Secrets are never shown again once stored, so whoever may edit an inbox must not be able to
learn them by pointing the inbox at a host of their own: a change of a host-bound key (a base
URL, a mail server) drops the secrets sent there unless they are given again in the same change,
and base URLs outside the provider's own hosts need `HUB_ALLOW_CUSTOM_PROVIDER_URLS`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hub.channels.contract import BaseAdapter


class CredentialRule(ValueError):
    """A change would send credentials somewhere they were not given for; a sentence for the admin."""


def provider_host(url: str, hosts: tuple[str, ...]) -> bool:
    """An https URL on one of the provider's hosts ("api.x.com", or ".x.com" for subdomains)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return False
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in hosts)


def check_provider_urls(
    cls: type[BaseAdapter],
    config: dict[str, Any],
    *,
    previous: dict[str, Any] | None,
    allow_custom: bool,
) -> None:
    """Refuse a new base URL off the provider's hosts unless the operator allows custom ones.

    A URL kept unchanged is not re-checked, so an inbox made while custom URLs were allowed can
    still be renamed or edited otherwise.
    """
    if allow_custom:
        return
    for key, hosts in cls.provider_hosts.items():
        value = str(config.get(key) or "")
        if not value or (previous is not None and previous.get(key) == value):
            continue
        if not provider_host(value, hosts):
            shown = ", ".join(h.lstrip(".") for h in hosts)
            raise CredentialRule(
                f"{key} must be an https:// URL of the provider ({shown}); other hosts need the"
                " operator setting HUB_ALLOW_CUSTOM_PROVIDER_URLS=true"
            )


def check_secrets_given_again(
    cls: type[BaseAdapter],
    previous: dict[str, Any],
    changes: dict[str, Any],
    validated: dict[str, Any],
) -> None:
    """Refuse a change of a host-bound key unless the secrets sent there come with it."""
    moved: list[str] = []
    missing: list[str] = []
    for key, secrets in cls.host_bound_secrets.items():
        if validated.get(key) == previous.get(key):
            continue
        moved.append(key)
        missing += [
            s for s in secrets if previous.get(s) and not changes.get(s) and s not in missing
        ]
    if missing:
        raise CredentialRule(
            f"changing {' and '.join(moved)} sends the inbox's credentials to another host:"
            f" give {', '.join(missing)} again in the same change"
        )
