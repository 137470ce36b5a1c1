"""WhatsApp: two providers behind one channel, with the 24-hour window as a first-class rule.

`whatsapp_twilio` talks to Twilio's Messages API (the `twilio` package, async);
`whatsapp_cloud` talks to Meta's Graph API directly (httpx). Both identify the customer by the
E.164 number (identity kind `phone`), so one person is one contact across sources.
"""

from adapters.whatsapp.cloud import CloudChannel
from adapters.whatsapp.twilio import TwilioChannel

__all__ = ["CloudChannel", "TwilioChannel"]
