"""Fixtures: the real orderflow stack, which the tools read as a user's endpoint."""

from tests.localaws.orderflow_stack import orderflow_assembly, orderflow_local, orderflow_names

__all__ = ["orderflow_assembly", "orderflow_local", "orderflow_names"]
