"""What both providers' parsers produce: an Inbound whose media may still need fetching."""

from __future__ import annotations

import msgspec

from hub.channels.contract import Inbound


class MediaRef(msgspec.Struct, frozen=True):
    """Media announced by a webhook: Twilio gives a URL, Meta a media id to look up."""

    ref: str
    content_type: str = ""
    filename: str = ""


class WithMedia(msgspec.Struct, frozen=True):
    inbound: Inbound
    media: list[MediaRef] = []


def location_text(latitude: str, longitude: str, name: str = "", address: str = "") -> str:
    """A readable line for a shared location, with a map link an agent can open."""
    place = " — ".join(p for p in (name.strip(), address.strip()) if p)
    link = f"https://maps.google.com/?q={latitude},{longitude}"
    return f"📍 {place} ({latitude}, {longitude}) {link}" if place else f"📍 {link}"
