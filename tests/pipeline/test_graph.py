from __future__ import annotations

from jupyter_ext.pipeline import (
    ancestors,
    find_cycles,
    load_pipeline,
    needs_graph,
    render_mermaid,
    render_tree,
    topological_order,
)

from ..conftest import SAMPLE_PROJECT

GRAPH = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}


def test_topological_order_puts_needs_first_in_file_order():
    assert topological_order(GRAPH) == ["a", "b", "c", "d", "e"]
    assert topological_order(GRAPH, ["d"]) == ["a", "b", "c", "d"]
    assert topological_order({"x": ["y"], "y": []}) == ["y", "x"]


def test_ancestors():
    assert ancestors(GRAPH, ["d"]) == {"a", "b", "c"}
    assert ancestors(GRAPH, ["a", "e"]) == set()


def test_find_cycles_reports_each_group_once():
    graph = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["d"], "e": ["a"], "f": ["g"], "g": ["f"]}
    assert find_cycles(graph) == [["a", "c", "b", "a"], ["d", "d"], ["f", "g", "f"]]
    assert find_cycles(GRAPH) == []


def test_long_chains_need_no_recursion():
    chain = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(20_000)}
    assert topological_order(chain)[-1] == "s19999"
    assert len(ancestors(chain, ["s19999"])) == 19_999
    chain["s0"] = ["s19999"]
    assert len(find_cycles(chain)[0]) == 20_001


def test_tree_and_mermaid_pictures():
    graph = needs_graph(load_pipeline((SAMPLE_PROJECT / "project.yaml").read_text()))
    tree = render_tree(graph)
    assert tree.splitlines()[0] == "generate_dataset"
    assert "└── derive_measures" in tree
    assert "report (see above)" in tree
    mermaid = render_mermaid(graph)
    assert mermaid.startswith("flowchart TD")
    assert mermaid.count("-->") == sum(len(n) for n in graph.values())
