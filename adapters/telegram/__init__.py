"""The Telegram channel: a bot inbox fed by a webhook or by long polling (see docs/channels/telegram.md)."""

from adapters.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
