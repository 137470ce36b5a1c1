"""Every message of the shared corpus (about 200 real messages) goes through parsing and ingest.

None raises, no attachment is lost, and what the source projects' own tests assert about the
files (sender, subject, reply text, attachment names) holds here too.
"""

from __future__ import annotations

import hashlib
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from typing import Any

import httpx

from adapters.email.convert import Converter
from hub.channels import inboxes
from hub.channels.contract import DeliveryUpdate, Identity, Inbound, ThreadHints
from hub.db.engine import engine
from hub.ingest import pipeline
from tests.conftest import admin_key
from tests.email.conftest import CORPUS, create_inbox, email_config

# What the upstream tests assert (MANIFEST.tsv "expected"), restated as checks on our result.
EXPECTED: dict[str, dict[str, Any]] = {
    "talon/reply-quotations-share-block.eml": {"text_excludes": "From"},
    "flanker/apache-message-news-mime.eml": {
        "subject": "[Fwd: Netscape Enterprise vs. Apache Secure]"
    },
    "flanker/encoded-header.eml": {"name": "Foo, Bar", "address": "foo.bar@example.com"},
    "flanker/from-encoding.eml": {"name": "Ingo Lütkebohle", "address": "ingo@blank.pages.de"},
    "flanker/mailgun-pic.eml": {"attachment_types": ["image/png"]},
    "flanker/no-ctype.eml": {"text": "Hello,\nI'm just testing message parsing\n\nBR,\nBob"},
    "flanker/text-only.eml": {"text": "Hello,\nI'm just testing message parsing\n\nBR,\nBob"},
    "flanker/russian-attachment-yahoo.eml": {
        "attachment_types": ["image/png"],
        "attachment_prefix": "Картинка с очень, очень длинным предлинным именем",  # noqa: RUF001
    },
    "mail-parser/mail_test_3": {"attachments": ["message.txt"]},
    "mail-parser/mail_test_5": {"attachment_count": 5},
    "mail-parser/mail_test_10": {"attachment_count": 4},
    "mail-parser/mail_test_16": {
        "subject": "Test spam mail (GTUBE)",
        "address": "sender@example.net",
        "auto_reply": True,
    },
    "mail-parser/mail_test_17": {"address": "notificaccion-clientes@bbva.mx"},
    "mail-parser/mail_test_18": {
        "name": "LastßlName, FirstName",
        "address": "comma.name@example.com",
    },
    "django-helpdesk/all-special-chars.eml": {"subject": "Testovácí email", "text": "íářčšáíéřášč"},
    "django-helpdesk/blank-body-with-attachment.eml": {
        "subject_prefix": "Attachment without body - and a looo",
        "text": "",
        "attachment_count": 1,
    },
    "django-helpdesk/forwarded-message.eml": {
        "subject": "Test with original message from GitHub",
        "text_contains": "This is email body",
        "quoted_contains": "Hello there!",
    },
    "django-helpdesk/quoted_printable.eml": {
        "subject": "Český test",
        "text": "Tohle je test českých písmen odeslaných z gmailu.",
    },
    "django-helpdesk/utf-nondecodable.eml": {
        "subject": "Fwd: Cyklozaměstnavatel - změna vyhodnocení",
        # This fixture's text and HTML alternatives differ; the sentence is in the HTML one.
        "html_contains": "prosazuje lepší",
    },
    "mikel-mail/attachment_content_disposition.eml": {"attachments": ["api.rb"]},
    "mikel-mail/attachment_content_location.eml": {"attachment_count": 1},
    "mikel-mail/attachment_nonascii_filename.eml": {"attachments": ["ciële.txt"]},
    "mikel-mail/attachment_with_base64_encoded_name.eml": {"attachments": ["This is a test.pdf"]},
    "mikel-mail/attachment_with_unquoted_name.eml": {"attachments": ["This is a test.txt"]},
    "mikel-mail/cant_parse_from.eml": {"address": "news@insideapple.apple.com"},
    "mikel-mail/invalid_subject_characters.eml": {"name": "Formação Frenetikpolis"},
    "mikel-mail/raw_email_with_nested_attachment.eml": {
        "attachments": ["truncated.png", "smime.p7s"]
    },
    "mikel-mail/japanese_iso_2022.eml": {"text": "すみません。"},
    "mikel-mail/ks_c_5601-1987.eml": {"text": "스티해"},
    "mikel-mail/basic_email.eml": {"address": "test@lindsaar.net"},
    "mikel-mail/utf8_headers.eml": {"subject": "Säying Hello"},
    "chatwoot/non_utf_encoded_mail.eml": {
        "subject": "أهلين عميلنا الكريم",
        "text_prefix": "أنظروا، أنا أحتاجها فقط لتقوم بالتدقيق في مقالتي الشخصية",
        "auto_reply": True,
    },
    "zammad/mail072.box": {
        "name": "Valérie Oury",
        "address": "me@example.com",
        "subject": "Réclamation commande n° 018255977840",
    },
    "zammad/mail075.box": {
        "name": "Hans BÄKOSchönland",
        "address": "me@bogen.net",
        "subject": "test email",
    },
    "zammad/mail077.box": {"subject": "Personaländerung"},
    "zammad/mail081.box": {
        "attachments": ["Erklärung.txt"],
        "text_prefix": "Regression test case for issue #2458",
    },
    "zammad/mail087.box": {"address": "test@example.com", "attachments": ["fax_1234.pdf"]},
    "zammad/mail091.box": {
        "name": "岡本和正",
        "subject": "メルマガ解除",
        "text": "このアドレスへのメルマガを解除してください。",
    },
    "zammad/mail093.box": {"name": "ツール EXAMPLE", "subject": "ツール"},
    "flanker/office365.eml": {"bounce_status": "5.1.10", "auto_reply": True},
    "flanker/zed.eml": {"bounce_status": "5.1.1", "auto_reply": True},
}
STANDARD_REPLIES = [
    "android",
    "aol",
    "apple_mail",
    "apple_mail_2",
    "comcast",
    "gmail",
    "hotmail",
    "outlook",
    "thunderbird",
    "yahoo",
]
for _name in STANDARD_REPLIES:
    EXPECTED[f"talon/{_name}.eml"] = {"text": "Hello"}


def _manifest() -> list[str]:
    lines = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line.strip()]


def _normalise(value: str) -> str:
    return "\n".join(line.rstrip() for line in value.strip().splitlines())


def _expected_attachment_digests(raw: bytes) -> set[str]:
    """Digests of every named or non-text leaf part, outside forwarded messages (kept whole)."""
    digests: set[str] = set()

    def walk(part: Message) -> None:
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    walk(sub)
            return
        named = bool(part.get_filename())
        if named or part.get_content_maintype() not in ("text", "multipart", "message"):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                digests.add(hashlib.sha256(data).hexdigest())

    walk(message_from_bytes(raw, policy=default_policy))
    return digests


def _check(path: str, item: Inbound) -> None:
    want = EXPECTED.get(path, {})
    names = [a.filename for a in item.attachments]
    checks = {
        "name": lambda v: item.sender.name == v,
        "address": lambda v: item.sender.address == v,
        "subject": lambda v: item.subject.strip() == v,
        "subject_prefix": lambda v: item.subject.startswith(v),
        "text": lambda v: _normalise(item.text) == _normalise(v),
        "text_prefix": lambda v: item.text.startswith(v),
        "text_contains": lambda v: v in item.text,
        "text_excludes": lambda v: item.text.strip() and v not in item.text,
        "html_contains": lambda v: v in item.html,
        "quoted_contains": lambda v: v in item.meta.get("quoted", ""),
        "attachments": lambda v: all(n in names for n in v),
        "attachment_count": lambda v: len(item.attachments) == v,
        "attachment_types": lambda v: [a.content_type for a in item.attachments] == v,
        "attachment_prefix": lambda v: any(n.startswith(v) for n in names),
        "auto_reply": lambda v: item.auto_reply == v,
        "bounce_status": lambda v: item.meta.get("bounce", {}).get("status") == v,
    }
    for key, value in want.items():
        assert checks[key](value), f"{path}: {key} should be {value!r}; got {item!r}"[:3000]


async def test_whole_corpus_ingests_without_loss(client: httpx.AsyncClient, settings: Any) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config())
    adapter = await inboxes.adapter_for(
        inbox["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    converter: Converter = adapter.converter()  # type: ignore[attr-defined]
    pool = engine().pool
    assert pool is not None
    checked = diverted = 0
    distinct: set[str] = set()
    for path in _manifest():
        if path.endswith("_reply_text"):
            continue
        raw = (CORPUS / path).read_bytes()
        items = await converter.items(raw)
        if not items:
            # Automatic mail that continues nothing is kept raw (attachments and all), not opened.
            kept = await pool.fetchval(
                "SELECT error FROM raw_payload WHERE inbox = $1 AND body = $2", inbox["id"], raw
            )
            assert kept and "automatic mail" in kept, path
            # What upstream asserts about the file still holds for what it would have become.
            parsed = converter.parse(raw)
            assert parsed is not None, path
            sender = Identity("email", parsed.from_address.lower(), parsed.from_name)
            _check(path, converter.inbound(parsed, sender, ThreadHints()))
            checked += int(path in EXPECTED)
            diverted += 1
            continue
        assert len(items) == 1, f"{path}: {items!r}"
        item = items[0]
        assert not isinstance(item, DeliveryUpdate), path  # none of these bounce a message of ours
        assert not item.meta.get("raw_unparseable"), f"{path} was not parsed"
        _check(path, item)
        checked += int(path in EXPECTED)
        distinct.add(item.provider_message_id)
        result = await pipeline.ingest(item)
        if not result.created:
            # The same Message-ID again (basic_email.eml and its LF twin…): one message, by design.
            continue
        stored = {
            r["sha256"]
            for r in await pool.fetch(
                "SELECT sha256 FROM attachment WHERE message = $1", result.message_id
            )
        }
        missing = _expected_attachment_digests(raw) - stored
        assert not missing, f"{path}: {len(missing)} attachment(s) not stored"
    assert checked == len(EXPECTED)
    count = await pool.fetchval("SELECT count(*) FROM message WHERE inbox = $1", inbox["id"])
    # Several fixtures are variants of one message with one Message-ID: each id is stored once.
    assert count == len(distinct) > 130
    # The corpus' bounces, auto-replies, list and junk mail: kept raw, no conversation each.
    assert 20 < diverted < 40


def test_talon_reply_texts_with_signatures() -> None:
    from adapters.email.parse import parse, split

    for name in ("iphone", "sparrow"):
        parsed = parse((CORPUS / "talon" / f"{name}.eml").read_bytes())
        text, signature, quoted = split(parsed)
        expected = (CORPUS / "talon" / f"{name}_reply_text").read_text(encoding="utf-8")
        assert _normalise(f"{text}\n\n{signature}") == _normalise(expected)
        assert quoted.startswith("On ")


def test_unparseable_message_is_kept_raw(monkeypatch: Any) -> None:
    from adapters.email import convert

    monkeypatch.setattr(convert, "attachment_limit", lambda: 1024 * 1024)
    converter = Converter(inbox_id=1, address="support@example.com", secret_key="k" * 40)
    raw = b"From: Ann <ann@example.org>\r\nMessage-ID: <broken@x>\r\n\r\n\xff\xfe"
    item = converter.unparseable(raw)
    assert item.text == convert.UNPARSEABLE_TEXT and item.meta["raw_unparseable"] is True
    assert item.provider_message_id == "broken@x" and item.sender.address == "ann@example.org"
    assert item.attachments[0].data == raw and item.hints.new_conversation


async def test_a_message_the_parser_chokes_on_is_kept_not_dropped(monkeypatch: Any) -> None:
    from adapters.email import convert

    def explode(raw: bytes, address: str = "") -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(convert, "attachment_limit", lambda: 1024 * 1024)
    monkeypatch.setattr(convert, "parse", explode)
    converter = Converter(inbox_id=1, address="support@example.com", secret_key="k" * 40)
    raw = (CORPUS / "mikel-mail" / "basic_email.eml").read_bytes()
    items = await converter.items(raw)
    assert len(items) == 1 and isinstance(items[0], Inbound)
    assert items[0].meta == {"raw_unparseable": True} and items[0].attachments[0].data == raw
