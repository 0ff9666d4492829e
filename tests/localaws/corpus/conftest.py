"""Fixtures: the real orderflow stack, which the corpus is posted to as a producer posts orders."""

from tests.localaws.orderflow_stack import orderflow_assembly, orderflow_local, orderflow_names

__all__ = ["orderflow_assembly", "orderflow_local", "orderflow_names"]
