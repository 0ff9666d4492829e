"""Fixtures: the real orderflow stack, whose executions the cost model's counts are checked against."""

from tests.localaws.orderflow_stack import orderflow_assembly, orderflow_local, orderflow_names

__all__ = ["orderflow_assembly", "orderflow_local", "orderflow_names"]
