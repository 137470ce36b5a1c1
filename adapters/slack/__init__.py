"""Slack as a notification channel: Block Kit messages through a bot token (chat.postMessage,
threads) or an incoming webhook. Found by the hub through the `hub.notifiers` entry point."""

from adapters.slack.sender import SlackSender

__all__ = ["SlackSender"]
