"""The web chat channel: an embeddable widget (served by web.widget) talking to one inbox."""

from adapters.webchat.channel import WebchatChannel
from adapters.webchat.config import WebchatSettings, origin_matches

__all__ = ["WebchatChannel", "WebchatSettings", "origin_matches"]
