"""The state machine graph, laid out from an ASL definition for the console to draw as SVG.

A layered layout (Sugiyama, simplified): states in layers by longest path from ``StartAt``, long edges routed
through invisible waypoints, layer order improved by barycentre sweeps. Map item processors and Parallel
branches are laid out first and become boxes that their parent lays out like any other state.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

STATE_HEIGHT = 34
CHAR_WIDTH = 7.2
MIN_STATE_WIDTH = 120
LAYER_GAP = 40
NODE_GAP = 28
BOX_PADDING = 16
BOX_HEADER = 26
WAYPOINT_WIDTH = 8
START = "__start__"


@dataclass
class GraphNode:
    """A state (or the start marker) with its box in absolute coordinates; ``parent`` is its Map/Parallel."""

    id: str
    type: str
    x: float
    y: float
    width: float
    height: float
    parent: str | None = None
    end: bool = False
    compound: bool = False


@dataclass
class GraphEdge:
    source: str
    target: str
    kind: str  # next | choice | default | catch | start
    label: str = ""
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Graph:
    width: float
    height: float
    nodes: list[GraphNode]
    edges: list[GraphEdge]

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "nodes": [asdict(node) for node in self.nodes],
            "edges": [{**asdict(edge), "points": [list(p) for p in edge.points]} for edge in self.edges],
        }


@dataclass
class _Block:
    """A laid-out scope (the machine, a branch or an item processor) in coordinates relative to itself."""

    width: float
    height: float
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def state_graph(definition: dict[str, Any]) -> Graph:
    """Lay out every state of ``definition``, nested ones included."""
    block = _layout_scope(definition["States"], definition["StartAt"], parent=None, with_start=True)
    return Graph(width=block.width, height=block.height, nodes=block.nodes, edges=block.edges)


def all_state_names(definition: dict[str, Any]) -> list[str]:
    """Every state name, depth first, nested states included."""
    names: list[str] = []
    for name, state in definition["States"].items():
        names.append(name)
        for scope in _child_scopes(state):
            names.extend(all_state_names(scope))
    return names


def catch_targets(definition: dict[str, Any]) -> dict[str, set[str]]:
    """State name → the states its Catch clauses lead to."""
    targets: dict[str, set[str]] = {}
    for name, state in definition["States"].items():
        for catcher in state.get("Catch", []):
            targets.setdefault(name, set()).add(catcher["Next"])
        for scope in _child_scopes(state):
            targets.update(catch_targets(scope))
    return targets


def _child_scopes(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", []))
    processor = state.get("ItemProcessor") or state.get("Iterator")
    return [processor] if state.get("Type") == "Map" and processor else []


def _transitions(name: str, state: dict[str, Any]) -> Iterable[GraphEdge]:
    if "Next" in state:
        yield GraphEdge(name, state["Next"], "next")
    for choice in state.get("Choices", []):
        if "Next" in choice:
            yield GraphEdge(name, choice["Next"], "choice")
    if "Default" in state:
        yield GraphEdge(name, state["Default"], "default", "default")
    for catcher in state.get("Catch", []):
        yield GraphEdge(name, catcher["Next"], "catch", ", ".join(catcher.get("ErrorEquals", [])))


def _text_width(text: str) -> float:
    return max(MIN_STATE_WIDTH, len(text) * CHAR_WIDTH + 28)


def _layout_scope(
    states: dict[str, Any], start_at: str, *, parent: str | None, with_start: bool = False
) -> _Block:
    # Sizes first: a compound state is as big as its laid-out children.
    inner: dict[str, list[_Block]] = {}
    size: dict[str, tuple[float, float]] = {}
    for name, state in states.items():
        scopes = _child_scopes(state)
        if scopes:
            blocks = [_layout_scope(s["States"], s["StartAt"], parent=name) for s in scopes]
            inner[name] = blocks
            width = sum(b.width for b in blocks) + NODE_GAP * (len(blocks) - 1) + 2 * BOX_PADDING
            height = max(b.height for b in blocks) + BOX_HEADER + 2 * BOX_PADDING
            size[name] = (max(width, _text_width(name) + 2 * BOX_PADDING), height)
        else:
            size[name] = (_text_width(name), STATE_HEIGHT)

    edges = [edge for name, state in states.items() for edge in _transitions(name, state)]
    edges = [e for e in _unique(edges) if e.target in states]
    order = list(states)
    if with_start:
        size[START] = (18.0, 18.0)
        order.insert(0, START)
        edges.insert(0, GraphEdge(START, start_at, "start"))

    layers, ordered = _layers(order, edges, start_at if not with_start else START)
    positions = _place(layers, ordered, edges, size)

    nodes: list[GraphNode] = []
    for name in order:
        x, y = positions[name]
        width, height = size[name]
        state = states.get(name, {})
        nodes.append(
            GraphNode(
                id=name,
                type="Start" if name == START else state.get("Type", "Task"),
                x=x - width / 2,
                y=y,
                width=width,
                height=height,
                parent=parent,
                end=bool(state.get("End")) or state.get("Type") in ("Succeed", "Fail"),
                compound=name in inner,
            )
        )
        # Children sit inside the box, under its header, branches side by side.
        offset_x = x - width / 2 + BOX_PADDING
        for block in inner.get(name, []):
            free = width - 2 * BOX_PADDING - sum(b.width for b in inner[name])
            shift = offset_x + (free / 2 if len(inner[name]) == 1 else 0)
            for child in block.nodes:
                nodes.append(_moved_node(child, shift, y + BOX_HEADER + BOX_PADDING))
            for child_edge in block.edges:
                child_edge.points = [
                    (px + shift, py + y + BOX_HEADER + BOX_PADDING) for px, py in child_edge.points
                ]
            offset_x += block.width + NODE_GAP
    routed = _route(edges, layers, positions, size)
    for block_list in inner.values():
        for block in block_list:
            routed.extend(block.edges)
    width = max((n.x + n.width for n in nodes), default=0.0) + BOX_PADDING
    height = max((n.y + n.height for n in nodes), default=0.0) + BOX_PADDING
    return _Block(width=width, height=height, nodes=nodes, edges=routed)


def _moved_node(node: GraphNode, dx: float, dy: float) -> GraphNode:
    return GraphNode(**{**asdict(node), "x": node.x + dx, "y": node.y + dy})


def _unique(edges: list[GraphEdge]) -> list[GraphEdge]:
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for edge in edges:
        key = (edge.source, edge.target, edge.kind)
        if key not in seen:
            seen.add(key)
            kept.append(edge)
    return kept


def _layers(order: list[str], edges: list[GraphEdge], start: str) -> tuple[dict[str, int], list[list[str]]]:
    """Layer of every state, and the states of each layer in an order that crosses few edges."""
    successors: dict[str, list[str]] = {name: [] for name in order}
    for edge in edges:
        successors[edge.source].append(edge.target)
    back, discovered = _depth_first(order, successors, start)
    forward = [
        (e.source, e.target) for e in edges if (e.source, e.target) not in back and e.source != e.target
    ]
    layer = _longest_path_layers(order, forward)
    depth = max(layer.values(), default=0) + 1
    ordered: list[list[str]] = [[] for _ in range(depth)]
    for name in discovered:
        ordered[layer[name]].append(name)
    return layer, ordered


def _depth_first(
    order: list[str], successors: dict[str, list[str]], start: str
) -> tuple[set[tuple[str, str]], list[str]]:
    """Back edges and discovery order of a depth-first walk from the start, then from anything unreached.

    Back edges are the loops: they are left out of the layering and drawn upwards.
    """
    back: set[tuple[str, str]] = set()
    discovered: list[str] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in [start, *order]:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        discovered.append(root)
        while stack:
            node, index = stack[-1]
            if index < len(successors[node]):
                stack[-1] = (node, index + 1)
                child = successors[node][index]
                if state.get(child) == 1:
                    back.add((node, child))
                elif child not in state:
                    state[child] = 1
                    discovered.append(child)
                    stack.append((child, 0))
            else:
                state[node] = 2
                stack.pop()
    return back, discovered


def _longest_path_layers(order: list[str], forward: list[tuple[str, str]]) -> dict[str, int]:
    """Each state's layer: the length of the longest forward path that reaches it."""
    layer = {name: 0 for name in order}
    # Relax in discovery order until stable (the forward graph is acyclic, so len(order) rounds suffice).
    for _ in range(len(order)):
        changed = False
        for source, target in forward:
            if layer[target] < layer[source] + 1:
                layer[target] = layer[source] + 1
                changed = True
        if not changed:
            break
    return layer


def _chains(edges: list[GraphEdge], layer: dict[str, int]) -> list[list[str]]:
    """Each edge as the list of nodes it passes, waypoints included, top to bottom."""
    chains = []
    for index, edge in enumerate(edges):
        top, bottom = edge.source, edge.target
        if layer[top] > layer[bottom]:
            top, bottom = bottom, top
        span = layer[bottom] - layer[top]
        chains.append([top, *[f"~{index}~{step}" for step in range(1, span)], bottom])
    return chains


def _place(
    layer: dict[str, int],
    ordered: list[list[str]],
    edges: list[GraphEdge],
    size: dict[str, tuple[float, float]],
) -> dict[str, tuple[float, float]]:
    """Centre x and top y of every node; waypoints are added to ``layer``/``size``/``ordered`` too."""
    up, down = _add_waypoints(_chains(edges, layer), layer, ordered, size)
    for _ in range(4):
        _sweep(ordered, up, range(1, len(ordered)))
        _sweep(ordered, down, range(len(ordered) - 2, -1, -1))
    x = _centres(ordered, up, down, size)
    return _positions(ordered, x, size)


def _add_waypoints(
    chains: list[list[str]],
    layer: dict[str, int],
    ordered: list[list[str]],
    size: dict[str, tuple[float, float]],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Put each chain's waypoints in their layers; return every node's neighbours one layer up and down."""
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for chain in chains:
        for step, node in enumerate(chain):
            if node.startswith("~"):
                layer[node] = layer[chain[0]] + step
                size[node] = (WAYPOINT_WIDTH, STATE_HEIGHT)
                ordered[layer[node]].append(node)
        for a, b in itertools.pairwise(chain):
            if layer[a] == layer[b]:
                continue
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    return up, down


def _sweep(ordered: list[list[str]], neighbours: dict[str, list[str]], layers: Iterable[int]) -> None:
    """Reorder each of ``layers`` by the mean rank of each node's ``neighbours`` (barycentre heuristic)."""
    for index in layers:
        rank = {n: i for row in ordered for i, n in enumerate(row)}
        row = ordered[index]
        keyed = []
        for current, node in enumerate(row):
            around = neighbours.get(node, [])
            keyed.append((sum(rank[n] for n in around) / len(around) if around else float(current), node))
        row[:] = [node for _, node in sorted(keyed)]


def _centres(
    ordered: list[list[str]],
    up: dict[str, list[str]],
    down: dict[str, list[str]],
    size: dict[str, tuple[float, float]],
) -> dict[str, float]:
    """Centre x of every node: packed first, then pulled towards its neighbours keeping order and spacing."""
    x: dict[str, float] = {}
    for row in ordered:
        cursor = 0.0
        for node in row:
            x[node] = cursor + size[node][0] / 2
            cursor += size[node][0] + NODE_GAP
    for _ in range(6):
        _pull(ordered, x, up, range(1, len(ordered)), size)
        _pull(ordered, x, down, range(len(ordered) - 2, -1, -1), size)
    return x


def _pull(
    ordered: list[list[str]],
    x: dict[str, float],
    neighbours: dict[str, list[str]],
    layers: Iterable[int],
    size: dict[str, tuple[float, float]],
) -> None:
    """Move the nodes of each of ``layers`` towards the mean x of their ``neighbours``."""
    for index in layers:
        row = ordered[index]
        wanted = [
            sum(x[n] for n in neighbours[node]) / len(neighbours[node]) if neighbours.get(node) else x[node]
            for node in row
        ]
        placed = _spread(row, wanted, size)
        for node, value in zip(row, placed, strict=True):
            x[node] = value


def _positions(
    ordered: list[list[str]], x: dict[str, float], size: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Centre x and top y of every node, the layers stacked top to bottom, the left edge at the padding."""
    left = min(x[n] - size[n][0] / 2 for n in x)
    y_of_layer = []
    cursor_y = float(BOX_PADDING)
    for row in ordered:
        y_of_layer.append(cursor_y)
        cursor_y += max(size[n][1] for n in row) + LAYER_GAP if row else 0
    positions = {}
    for index, row in enumerate(ordered):
        row_height = max(size[n][1] for n in row)
        for node in row:
            if node.startswith("~"):
                size[node] = (WAYPOINT_WIDTH, row_height)  # an edge passes straight through the layer
            # Centre small states vertically against a tall compound box in the same layer.
            offset = (row_height - size[node][1]) / 2
            positions[node] = (x[node] - left + BOX_PADDING, y_of_layer[index] + offset)
    return positions


def _spread(row: list[str], wanted: list[float], size: dict[str, tuple[float, float]]) -> list[float]:
    """Positions as close to ``wanted`` as the order and spacing allow (averaging a left and a right pass)."""
    gaps = [size[a][0] / 2 + NODE_GAP + size[b][0] / 2 for a, b in itertools.pairwise(row)]
    forward = list(wanted)
    for i in range(1, len(row)):
        forward[i] = max(forward[i], forward[i - 1] + gaps[i - 1])
    backward = list(wanted)
    for i in range(len(row) - 2, -1, -1):
        backward[i] = min(backward[i], backward[i + 1] - gaps[i])
    merged = [(f + b) / 2 for f, b in zip(forward, backward, strict=True)]
    for i in range(1, len(row)):
        merged[i] = max(merged[i], merged[i - 1] + gaps[i - 1])
    return merged


def _route(
    edges: list[GraphEdge],
    layer: dict[str, int],
    positions: dict[str, tuple[float, float]],
    size: dict[str, tuple[float, float]],
) -> list[GraphEdge]:
    for index, edge in enumerate(edges):
        source_x, source_y = positions[edge.source]
        target_x, target_y = positions[edge.target]
        waypoints = sorted(
            (n for n in positions if n.startswith(f"~{index}~")), key=lambda n: int(n.rsplit("~", 1)[1])
        )
        if layer[edge.source] > layer[edge.target]:
            waypoints.reverse()  # a loop back up: leave from the top, arrive at the bottom
            start = (source_x, source_y)
            end = (target_x, target_y + size[edge.target][1])
        else:
            start = (source_x, source_y + size[edge.source][1])
            end = (target_x, target_y)
        middle = []
        for waypoint in waypoints:
            wx, wy = positions[waypoint]
            middle.extend([(wx, wy), (wx, wy + size[waypoint][1])])
        edge.points = [start, *middle, end]
    return edges
