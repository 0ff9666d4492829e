"""The layered layout of a state machine definition."""

from __future__ import annotations

import itertools
from typing import Any

from localaws.console.graph import START, all_state_names, catch_targets, state_graph
from tests.localaws.support import recorded


def _overlap(a: Any, b: Any) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def test_every_state_of_the_order_workflow_is_placed_without_overlaps() -> None:
    # Given the order workflow's definition as deployed
    definition = recorded("definition")

    # When it is laid out
    graph = state_graph(definition)

    # Then every state (Map item states included) is a node and no two boxes of one scope overlap
    nodes = {node.id: node for node in graph.nodes}
    assert set(all_state_names(definition)) | {START} == set(nodes)
    for a, b in itertools.combinations(graph.nodes, 2):
        if a.parent == b.parent:
            assert not _overlap(a, b), (a.id, b.id)
    # And a Map's item states sit inside its box
    reserve_stock, reserve_item = nodes["Reserve Stock"], nodes["Reserve Item"]
    assert reserve_item.parent == "Reserve Stock"
    assert (
        reserve_stock.x < reserve_item.x
        and reserve_item.x + reserve_item.width < reserve_stock.x + reserve_stock.width
    )
    assert reserve_stock.y < reserve_item.y < reserve_stock.y + reserve_stock.height
    # And the graph fits its canvas
    assert all(
        n.x >= 0 and n.y >= 0 and n.x + n.width <= graph.width and n.y + n.height <= graph.height
        for n in graph.nodes
    )


def test_edges_are_the_transitions_choices_and_catches() -> None:
    # Given the order workflow's definition
    definition = recorded("definition")

    # When it is laid out
    edges = {(e.source, e.target, e.kind) for e in state_graph(definition).edges}

    # Then each kind of transition is an edge, and every edge flows downwards unless it loops
    assert (START, "Validate Order", "start") in edges
    assert ("Is Order Valid?", "Record Order", "choice") in edges
    assert ("Is Order Valid?", "Record Rejection", "default") in edges
    for source, targets in catch_targets(definition).items():
        for target in targets:
            assert (source, target, "catch") in edges
    nodes = {node.id: node for node in state_graph(definition).nodes}
    for edge in state_graph(definition).edges:
        if edge.kind != "start":
            assert nodes[edge.target].y > nodes[edge.source].y, edge


def test_parallel_branches_and_loops_are_laid_out() -> None:
    # Given a machine with a Parallel of two branches and a Choice that loops back
    definition = {
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Task", "Resource": "arn:x", "Next": "Done?"},
            "Done?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Fan Out"}],
                "Default": "Poll",
            },
            "Fan Out": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "Right",
                        "States": {
                            "Right": {"Type": "Pass", "Next": "Right 2"},
                            "Right 2": {"Type": "Pass", "End": True},
                        },
                    },
                ],
                "End": True,
            },
        },
    }

    # When it is laid out
    graph = state_graph(definition)

    # Then the branches sit side by side in the Parallel box, and the loop is an edge going up
    nodes = {node.id: node for node in graph.nodes}
    assert nodes["Left"].parent == nodes["Right"].parent == "Fan Out"
    assert nodes["Left"].x + nodes["Left"].width <= nodes["Right"].x
    loop = next(e for e in graph.edges if (e.source, e.target) == ("Done?", "Poll"))
    assert loop.points[0][1] > loop.points[-1][1]
