"""Books shipments for paid, reserved orders (shipping queue, task-token callbacks)."""
