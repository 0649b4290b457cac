from __future__ import annotations

import itertools

import pytest

from jupyter_ext.pipeline import Outputs, match_outputs, pattern_problems

from .official import official

validate_glob_pattern = pytest.importorskip(
    "opensafely._vendor.pipeline.validation"
).validate_glob_pattern

PIECES = [
    "output",
    "out put",
    ".",
    "..",
    "",
    "metadata",
    "a*b",
    "*",
    "**",
    "x?",
    "[x]",
    "C:",
    "a\\b",
]
NAMES = [
    "data.csv",
    "data",
    "data.rds",
    ".csv",
    "data.",
    "plot.svg",
    "d.csv.gz",
    "d.c*v",
    "*.*",
    "x.*",
]


def official_accepts(pattern: str, level: str) -> bool:
    try:
        validate_glob_pattern(pattern, level)
    except official.exceptions.InvalidPatternError:
        return False
    return True


@pytest.mark.parametrize("level", ["highly_sensitive", "moderately_sensitive"])
def test_pattern_rules_agree_with_the_official_rules(level):
    patterns = {"/".join(p) for n in (1, 2, 3) for p in itertools.product(PIECES, repeat=n - 1)}
    patterns = {f"{p}/{name}" if p else name for p in patterns for name in NAMES}
    patterns |= {"/abs/data.csv", "output/", "output//x.csv", "./x.csv", "output/./x.csv"}
    checked = 0
    for pattern in sorted(patterns):
        ours = not pattern_problems(pattern, level)
        theirs = official_accepts(pattern, level)
        if pattern.split("/")[0] == ".." and theirs:
            assert not ours, pattern  # deliberate: no output outside the workspace
        else:
            assert ours == theirs, (pattern, pattern_problems(pattern, level))
        checked += 1
    assert checked > 1000


def test_problems_say_what_to_do():
    assert "such as .csv" in pattern_problems("output/data", "highly_sensitive")[0]
    assert "declare it highly_sensitive" in pattern_problems("out/x.rds", "moderately_sensitive")[0]
    assert "inside the workspace" in pattern_problems("../x.csv", "highly_sensitive")[0]
    assert "'out/x.csv' instead" in pattern_problems("out//x.csv", "highly_sensitive")[0]


def test_match_outputs_sorts_files_by_declared_pattern():
    outputs = Outputs(
        {
            "highly_sensitive": {"data": "output/data.csv", "all": "output/*.csv"},
            "moderately_sensitive": {"table": "output/table.csv", "notes": "output/notes/*.txt"},
            "minimally_sensitive": {"log": "output/run.log"},
        }
    )
    files = [
        "output/data.csv",
        "output/table.csv",
        "output/notes/a.txt",
        "output/x/deep.csv",
        "tmp.txt",
    ]
    result = match_outputs(outputs, files)
    # a file two patterns match takes the more sensitive level
    assert result.matched["output/table.csv"][0] == "highly_sensitive"
    assert result.matched["output/notes/a.txt"] == (
        "moderately_sensitive",
        "notes",
        "output/notes/*.txt",
    )
    assert result.undeclared == ["output/x/deep.csv", "tmp.txt"]  # * stays within one folder
    assert result.missing == [("minimally_sensitive", "log", "output/run.log")]
    assert result.files_at("highly_sensitive") == ["output/data.csv", "output/table.csv"]
