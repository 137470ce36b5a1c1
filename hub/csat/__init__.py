"""CSAT: a one-question survey (1-5 and a comment) after a conversation is resolved (docs/csat.md)."""
