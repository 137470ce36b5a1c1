"""Macros: saved replies with variables and actions (docs/macros.md)."""
