"""Shipping keeps no table of its own: shipments live with the carrier and in the workflow's order record.

Its only AWS dependencies are shared ones: the idempotency table (``services.shared.idempotency``) and the
Step Functions callbacks (``services.shared.callbacks``).
"""
