"""Charges and refunds orders for the workflow (payment queue, task-token callbacks)."""
