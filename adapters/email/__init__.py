"""The email channel: IMAP in (IDLE or polling, by UID), SMTP out, threading per contracts/email.md."""

from adapters.email.channel import EmailChannel
from adapters.email.parse import ParsedEmail, parse

__all__ = ["EmailChannel", "ParsedEmail", "parse"]
