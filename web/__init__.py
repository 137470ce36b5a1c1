"""Litestar: REST API, webhooks, the inbox UI, the widget and WebSockets; the composition root."""
