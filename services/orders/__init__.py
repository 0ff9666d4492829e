"""Validates ``OrderPlaced`` events for the workflow's first step."""
