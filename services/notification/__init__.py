"""Tells customers about their order's milestones (notification queue, fed by the order-status topic)."""
