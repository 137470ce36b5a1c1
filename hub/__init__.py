"""Hub: the channel-agnostic core. It never imports `adapters` or `web`."""
