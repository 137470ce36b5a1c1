"""An email inbox's settings (the names are the public API's, see docs/channels/email.md)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

_DEFAULT_IMAP_PORT = {"ssl": 993, "none": 143}
_DEFAULT_SMTP_PORT = {"starttls": 587, "ssl": 465, "none": 25}


class EmailConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    address: str
    imap_host: str = ""
    imap_port: int = 0
    imap_security: Literal["ssl", "none"] = "ssl"
    imap_username: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    poll_interval: int = 30  # seconds between polls when the server has no IDLE
    idle_seconds: int = 20  # how long one poll waits in IDLE for new mail (0: never IDLE)
    after_import: Literal["seen", "move"] = "seen"
    move_to_folder: str = ""  # with after_import = "move"
    batch_size: int = 100  # messages per poll; the rest follow on the next poll
    plus_addressing: bool = True  # Reply-To: support+<token>@domain
    tls_verify: bool = True
    tls_ca_file: str = ""

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.split("@", 1)[1]


def load(raw: dict[str, Any]) -> EmailConfig:
    """Validate and complete settings; raises ValueError with a sentence for the admin."""
    try:
        config = msgspec.convert(raw, EmailConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid email settings: {exc}") from None
    address = config.address.strip().lower()
    if (
        address.count("@") != 1
        or address.startswith("@")
        or address.endswith("@")
        or " " in address
    ):
        raise ValueError("address must be the inbox's email address, e.g. support@example.com")
    if "+" in address.split("@")[0]:
        raise ValueError("address must be the plain address, without a +tag")
    if not config.smtp_host:
        raise ValueError("smtp_host is required to send replies")
    if config.after_import == "move" and not config.move_to_folder:
        raise ValueError("move_to_folder is required when after_import is 'move'")
    if config.poll_interval < 5 or config.idle_seconds < 0 or config.idle_seconds > 60:
        raise ValueError("poll_interval must be at least 5 s and idle_seconds between 0 and 60")
    if not 1 <= config.batch_size <= 1000:
        raise ValueError("batch_size must be between 1 and 1000")
    for port in (config.imap_port, config.smtp_port):
        if not 0 <= port <= 65535:
            raise ValueError("ports must be between 1 and 65535")
    return msgspec.structs.replace(
        config,
        address=address,
        imap_port=config.imap_port or _DEFAULT_IMAP_PORT[config.imap_security],
        smtp_port=config.smtp_port or _DEFAULT_SMTP_PORT[config.smtp_security],
        imap_username=config.imap_username or address,
        smtp_username=config.smtp_username or config.imap_username or address,
        # One app password usually serves both (Gmail, Microsoft 365).
        smtp_password=config.smtp_password or config.imap_password,
    )
