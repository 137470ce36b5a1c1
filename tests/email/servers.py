"""Real protocol peers for the email tests: a Dovecot IMAP server and an aiosmtpd SMTP sink.

Dovecot runs from a throw-away configuration in a temp dir on a free loopback port. It
daemonises, so it is started with its output not captured and stopped by the pid it writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dovecot:
    base: Path
    port: int
    users: dict[str, str]

    @property
    def pid_file(self) -> Path:
        return self.base / "run" / "master.pid"

    def maildir(self, user: str) -> Path:
        return self.base / "mail" / user / "Maildir"


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={base}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@contextmanager
def run_dovecot(base: Path, users: dict[str, str]) -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    base.mkdir(parents=True, exist_ok=True)
    # Dovecot's unprivileged processes must reach their files: the temp tree is made traversable.
    for parent in [base, *base.parents]:
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o111)
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir(exist_ok=True)
    (base / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
    port = free_port()
    conf = base / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(base=base, port=port))
    shutil.chown(base / "mail", "mail", "mail")
    server = Dovecot(base, port, users)
    # Not captured: the daemon keeps inherited pipes open, so a captured run would never finish.
    subprocess.run(
        [binary, "-c", str(conf)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                raise RuntimeError(f"dovecot did not start:\n{log[-2000:]}") from None
            time.sleep(0.05)
    try:
        yield server
    finally:
        try:
            pid = int(server.pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except (OSError, ValueError):
            pass


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=default_policy)


@dataclass
class SmtpSink:
    """Records what it receives; `fail_next` answers the next messages with given SMTP replies."""

    received: list[Received] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.fail_next:
            return self.fail_next.pop(0)
        content = envelope.original_content or b""
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), content))
        return "250 OK queued"

    async def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the SMTP sink got {len(self.received)} of {count} messages")
            await asyncio.sleep(0.05)
        return self.received


class _Authenticator:
    def __init__(self, username: str, password: str, sink: SmtpSink) -> None:
        self.username, self.password, self.sink = username, password, sink

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            ok = data.login.decode() == self.username and data.password.decode() == self.password
            if ok:
                self.sink.auth.append(data.login.decode())
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)


@contextmanager
def run_smtp(directory: Path, username: str, password: str) -> Iterator[tuple[SmtpSink, int, Path]]:
    """An SMTP server on a free port offering STARTTLS and requiring AUTH after it."""
    cert, key = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink = SmtpSink()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_Authenticator(username, password, sink),
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield sink, port, cert
    finally:
        controller.stop()
