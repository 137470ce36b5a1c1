"""The web chat widget: its script, HTTP API and socket (the adapter is adapters.webchat)."""

from litestar.types import ControllerRouterHandler

from web.widget.agents import agent_typing
from web.widget.api import router
from web.widget.pages import continue_chat, widget_script
from web.widget.socket import widget_socket

handlers: list[ControllerRouterHandler] = [
    router,
    widget_socket,
    widget_script,
    continue_chat,
    agent_typing,
]

__all__ = ["handlers"]
