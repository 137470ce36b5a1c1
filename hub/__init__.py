"""The hub's domains, one package each; `hub.domains` loads them together."""
