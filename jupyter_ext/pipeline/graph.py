"""The dependency graph of actions: order, ancestors, cycles, and pictures of it.

A graph here is a mapping `{action: [actions it needs, in order]}`. Everything
is iterative, so a chain of thousands of actions cannot exhaust the stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

Graph = Mapping[str, Sequence[str]]


def topological_order(graph: Graph, roots: Iterable[str] | None = None) -> list[str]:
    """Actions with their needs first: depth-first post-order, in file and `needs` order.

    Only `roots` and their ancestors when `roots` is given. Assumes no cycle.
    """
    order: list[str] = []
    done: set[str] = set()
    for root in graph if roots is None else roots:
        if root in done:
            continue
        done.add(root)
        stack = [(root, iter(graph.get(root, ())))]
        while stack:
            node, needs = stack[-1]
            for need in needs:
                if need not in done:
                    done.add(need)
                    stack.append((need, iter(graph.get(need, ()))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def ancestors(graph: Graph, actions: Iterable[str]) -> set[str]:
    """Every action that `actions` need, directly or not (the actions themselves excluded)."""
    found: set[str] = set()
    stack = [need for action in actions for need in graph.get(action, ())]
    while stack:
        action = stack.pop()
        if action not in found:
            found.add(action)
            stack.extend(graph.get(action, ()))
    return found


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle per strongly connected group, as `[a, b, ..., a]` following `needs`.

    Tarjan's algorithm, iteratively; each group is reported once, starting at
    the action that comes first in the file.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, needs = work[-1]
            for need in needs:
                if need not in graph:
                    continue
                if need not in index:
                    index[need] = low[need] = len(index)
                    stack.append(need)
                    on_stack.add(need)
                    work.append((need, iter(graph[need])))
                    break
                if need in on_stack:
                    low[node] = min(low[node], index[need])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in graph[node]:
                        groups.append(group)
    position = {name: i for i, name in enumerate(graph)}
    cycles = [
        _cycle_in(graph, set(group), min(group, key=position.__getitem__)) for group in groups
    ]
    return sorted(cycles, key=lambda cycle: position[cycle[0]])


def _cycle_in(graph: Graph, group: set[str], start: str) -> list[str]:
    """A shortest path from `start` back to itself inside one strongly connected group."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for need in graph[node]:
                if need == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if need in group and need not in previous:
                    previous[need] = node
                    following.append(need)
        frontier = following
    raise AssertionError("a strongly connected group always has a cycle")


def render_tree(graph: Graph) -> str:
    """A readable tree: each action under what needs it, shared ones marked after first use."""
    needed_by: dict[str, list[str]] = {name: [] for name in graph}
    for name, needs in graph.items():
        for need in needs:
            needed_by.setdefault(need, []).append(name)
    roots = [name for name, needs in graph.items() if not needs]
    lines: list[str] = []
    shown: set[str] = set()
    stack = [(root, "", True, True) for root in reversed(roots)]
    while stack:
        name, prefix, last, top = stack.pop()
        branch = "" if top else ("└── " if last else "├── ")
        repeat = name in shown
        lines.append(f"{prefix}{branch}{name}{' (see above)' if repeat else ''}")
        if repeat:
            continue
        shown.add(name)
        children = needed_by.get(name, [])
        child_prefix = prefix + ("" if top else ("    " if last else "│   "))
        for i in reversed(range(len(children))):
            stack.append((children[i], child_prefix, i == len(children) - 1, False))
    return "\n".join(lines)


def render_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, needs pointing to what needs them."""
    ids = {name: f"a{i}" for i, name in enumerate(graph)}
    lines = ["flowchart TD"]
    lines += [f'    {ids[name]}["{name}"]' for name in graph]
    lines += [
        f"    {ids[need]} --> {ids[name]}"
        for name, needs in graph.items()
        for need in needs
        if need in ids
    ]
    return "\n".join(lines)
