"""Routing: who gets a conversation. Team policies, availability, capacity, skills, history."""
