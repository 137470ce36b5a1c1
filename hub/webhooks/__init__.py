"""Outgoing webhooks: subscriptions, signed deliveries with retries, the delivery log (docs/webhooks.md)."""
