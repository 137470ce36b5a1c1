"""Provider error codes the agent should understand, and which failures are worth a retry.

Only codes whose meaning is documented by the provider are named here; anything else is shown
with the provider's own text and code.
"""

from __future__ import annotations

WINDOW_REASON = (
    "outside WhatsApp's 24-hour customer service window: only an approved template can be sent"
    " until the customer writes again"
)

# Twilio error codes (https://www.twilio.com/docs/api/errors/<code>).
TWILIO_REASONS: dict[str, str] = {
    "63016": WINDOW_REASON,
    "63021": "WhatsApp rejected the content (for example a template body over 1,024 characters)",
    "63030": "WhatsApp does not accept media together with a template",
    "63003": "the recipient is not reachable on WhatsApp",
    "21211": "the recipient's number is not valid",
    "20003": "Twilio refused the account SID or auth token",
}
# Twilio codes that mean "try again later" even when the HTTP status is a 4xx.
TWILIO_TRANSIENT = frozenset({"20429"})

# Graph API / WhatsApp Cloud error codes (Meta's error-codes reference).
CLOUD_REASONS: dict[str, str] = {
    "131047": WINDOW_REASON,
    "131026": "the message could not be delivered to this WhatsApp user",
    "131051": "WhatsApp does not support this message type",
    "132000": "the template's variables do not match the approved template",
    "132001": "the template does not exist in this language, or is not approved",
    "190": "Meta refused the access token (expired or revoked)",
}
# Rate limits and temporary errors: the same request may succeed later.
CLOUD_TRANSIENT = frozenset({"1", "2", "4", "80007", "130429", "131000", "131016", "131056"})


def reason(table: dict[str, str], code: str, provider_text: str) -> str:
    """Our sentence for a known code (with the provider's words for reference), else theirs."""
    known = table.get(code)
    provider_text = provider_text.strip()
    if known and provider_text and provider_text != known:
        return f"{known} ({provider_text})"
    return known or provider_text or f"the provider reported error {code}"
