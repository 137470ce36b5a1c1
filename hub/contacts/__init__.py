"""Contacts: identities on each channel, normalised (email, E.164 phone, …)."""
