"""Memory of parsing hostile mail: a 25 MB message and one with 1,000 MIME parts.

    .venv/bin/python bench/email_memory.py

Each case runs in a fresh child process: it builds the raw message, records the peak RSS, parses
it with the email adapter (adapters.email.parse, what every IMAP poll and import runs), and
records the peak again. Prints the message size, the parts/attachments found, and the peak RSS
growth per parse, as a multiple of the message size. A figure, not a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # "email" in bench/ must not shadow the standard library's

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
from email.message import EmailMessage  # noqa: E402


def big_mail(size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ann <ann@example.org>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "the logs you asked for"
    mail["Message-ID"] = "<big-1@example.org>"
    mail.set_content("Attached.\n")
    mail.add_attachment(
        os.urandom(size), maintype="application", subtype="octet-stream", filename="logs.bin"
    )
    return bytes(mail)


def many_parts(count: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ann <ann@example.org>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "a thousand parts"
    mail["Message-ID"] = "<parts-1@example.org>"
    mail.set_content("Many files.\n")
    for index in range(count):
        mail.add_attachment(
            f"file {index}\n".encode() * 20,
            maintype="text",
            subtype="plain",
            filename=f"part-{index}.txt",
        )
    return bytes(mail)


def child(case: str) -> None:
    from adapters.email.parse import parse

    raw = big_mail(25 * 1024 * 1024 * 3 // 4) if case == "25mb" else many_parts(1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parsed = parse(raw, "support@example.com")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "case": case,
                "bytes": len(raw),
                "attachments": len(parsed.attachments),
                "rss_before_kib": before,
                "rss_peak_kib": after,
                "growth_mib": round((after - before) / 1024, 1),
                "growth_per_message_size": round((after - before) * 1024 / len(raw), 2),
            }
        )
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    for case in ("25mb", "1000parts"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", case], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
