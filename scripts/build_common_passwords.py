"""Write hub/auth/common_passwords.txt.gz: the common-password list the password policy refuses.

Source: the 30,000 most common passwords in the frequency lists of zxcvbn (Dropbox's password
strength estimator, MIT licence; its Python port is the `zxcvbn` package). Install it only to
run this (`pip install zxcvbn`); the hub ships the generated file, not the package.

    .venv/bin/python scripts/build_common_passwords.py
"""

from __future__ import annotations

import gzip
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parent.parent / "hub" / "auth" / "common_passwords.txt.gz"


def main() -> None:
    raw = FREQUENCY_LISTS["passwords"]
    words = raw.split(",") if isinstance(raw, str) else list(raw)
    unique = sorted({w.strip().lower() for w in words if w.strip()})
    header = "# zxcvbn frequency list 'passwords' (MIT licence), lower-cased, one a line\n"
    # mtime=0: the same input gives the same bytes, so a rebuild does not show as a change.
    with OUT.open("wb") as raw_out, gzip.GzipFile(fileobj=raw_out, mode="wb", mtime=0) as out:
        out.write((header + "\n".join(unique) + "\n").encode())
    print(f"{OUT}: {len(unique)} passwords")


if __name__ == "__main__":
    main()
