"""Who may do what: agents' passwords, sessions and API keys, roles, inbox access, the audit log."""
