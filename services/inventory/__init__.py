"""Reserves and releases stock for orders (FIFO queue grouped by SKU, task-token callbacks)."""
