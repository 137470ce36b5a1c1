"""Sending over SMTP; the server's answer decides between retry (4xx) and failure (5xx)."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from adapters.email.config import EmailConfig
from adapters.email.imap import tls_context
from hub.channels.contract import PermanentSendError, TransientSendError


def _reason(code: int, message: str) -> str:
    return f"the mail server answered {code}: {message.strip()}"


def _classify(code: int, message: str) -> Exception:
    if 400 <= code < 500 or code < 100:
        return TransientSendError(_reason(code, message))
    return PermanentSendError(_reason(code, message), code=str(code))


async def send(mail: EmailMessage, config: EmailConfig, *, timeout: float = 30.0) -> None:
    """Deliver `mail` to the inbox's SMTP server; raises Transient/PermanentSendError."""
    security = config.smtp_security
    try:
        result = await aiosmtplib.send(
            mail,
            hostname=config.smtp_host,
            port=config.smtp_port,
            username=config.smtp_username or None,
            password=config.smtp_password or None,
            use_tls=security == "ssl",
            start_tls=security == "starttls",
            tls_context=tls_context(config) if security != "none" else None,
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0] if exc.recipients else None
        if first is None:
            raise PermanentSendError("the mail server refused every recipient") from exc
        raise _classify(first.code, f"{first.recipient}: {first.message}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise _classify(exc.code, exc.message) from exc
    except (TimeoutError, aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        # Unreachable, disconnected, timed out or a TLS hiccup: the next attempt may get through.
        raise TransientSendError(
            f"cannot deliver to {config.smtp_host}:{config.smtp_port}: {exc}"
        ) from exc
    refused = result[0] if isinstance(result, tuple) else {}
    if refused:
        recipient, (code, message) = next(iter(refused.items()))
        raise _classify(code, f"{recipient}: {message}")
