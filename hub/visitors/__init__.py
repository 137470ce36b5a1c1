"""Visitors of the chat widget: tokens, their contact, presence, what they may see."""
