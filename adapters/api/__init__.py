"""The API channel: any system talks to the hub over HTTP (an SMS gateway, a web form, a bot)."""

from adapters.api.channel import ApiChannel, sign

__all__ = ["ApiChannel", "sign"]
