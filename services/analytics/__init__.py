"""Aggregates order lifecycle events from the order-analytics stream."""
