"""Explains what sits in a dead-letter queue when its alarm fires (subscribed to the system-alerts topic)."""
