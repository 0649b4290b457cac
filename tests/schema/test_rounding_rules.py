"""Rounding and suppression rules: findings by row and column, never a value."""

from __future__ import annotations

import pytest

from jupyter_ext.schema import RoundingRules, Verdict, check_rounding
from jupyter_ext.schema.release_rules import MAX_CELLS_NAMED

TABLE = "region,count,rate\nnorth,35,0.5\nsouth,12,1.25\neast,0,2.5\nwest,[REDACTED],\n"


def only(findings, rule):
    (finding,) = [f for f in findings if f.rule == rule]
    return finding


def test_no_rules_no_findings():
    assert check_rounding(TABLE, ",", RoundingRules()) == []


def test_counts_must_be_multiples_of_n():
    finding = only(check_rounding(TABLE, ",", RoundingRules(multiple_of=5)), "rounding")
    assert finding.cells == [(2, "count")] and finding.verdict is Verdict.REFUSE
    assert "multiple of 5" in finding.message and "row 2 'count'" in finding.message
    assert "12" not in finding.message  # the row and column, never the value


def test_a_rate_column_is_no_count_column():
    findings = check_rounding(TABLE, ",", RoundingRules(multiple_of=10))
    assert {c for f in findings for _, c in f.cells} == {"count"}


def test_a_rate_written_whole_is_no_count_either():
    # every rate of this table happens to be whole: written with a point, it is a measure,
    # as the small-number rule reads it too
    table = "region,count,rate_per_1000\nnorth,35,212.0\nsouth,15,3.0\n"
    assert check_rounding(table, ",", RoundingRules(multiple_of=5)) == []


def test_midpoint_rounding():
    table = "group,n\na,0\nb,3\nc,9\nd,10\ne,603\nf,6\n"
    finding = only(check_rounding(table, ",", RoundingRules(midpoint=6)), "midpoint_rounding")
    assert finding.cells == [(4, "n"), (6, "n")]
    assert "midpoint-6" in finding.message


def test_suppressed_cells_must_carry_the_marker():
    table = "group,n\na,[REDACTED]\nb,*\nc,\nd,NA\ne,15\n"
    rules = RoundingRules(suppression_marker="[REDACTED]", verdict=Verdict.FLAG)
    finding = only(check_rounding(table, ",", rules), "suppression_marker")
    assert finding.cells == [(2, "n"), (3, "n"), (4, "n")]
    assert finding.verdict is Verdict.FLAG
    assert "mark every suppressed count as '[REDACTED]'" in finding.message
    assert "NA" not in finding.message and "*" not in finding.message


def test_the_marker_is_no_unrounded_count():
    table = "group,n\na,[REDACTED]\nb,10\n"
    rules = RoundingRules(multiple_of=5, midpoint=0, suppression_marker="[REDACTED]")
    assert check_rounding(table, ",", rules) == []


def test_many_cells_are_named_then_counted():
    table = "n\n" + "".join(f"{i * 5 + 1}\n" for i in range(100))
    finding = only(check_rounding(table, ",", RoundingRules(multiple_of=5)), "rounding")
    assert len(finding.cells) == MAX_CELLS_NAMED
    assert f"and {100 - MAX_CELLS_NAMED} more" in finding.message
    assert finding.message.startswith("100 counts are")


@pytest.mark.parametrize(
    "table",
    ["", "a,b\n", "a,b\n1,2,3\n4\n", "n\nNaN\ninf\n", "n\n" + "9" * 400 + "\n", "n\n-5\n3\n"],
)
def test_hostile_tables_give_no_error(table):
    rules = RoundingRules(multiple_of=5, midpoint=6, suppression_marker="*")
    assert isinstance(check_rounding(table, ",", rules), list)


def test_ragged_rows_are_judged_by_their_cells():
    table = "a,n\nx,3\ny\nz,10,extra\n"
    finding = only(check_rounding(table, ",", RoundingRules(multiple_of=5)), "rounding")
    assert finding.cells == [(1, "n")]


def test_a_tsv_table():
    findings = check_rounding("g\tn\na\t7\n", "\t", RoundingRules(multiple_of=5))
    assert only(findings, "rounding").cells == [(1, "n")]


def test_rules_travel():
    rules = RoundingRules(multiple_of=5, suppression_marker="[REDACTED]")
    assert RoundingRules.model_validate_json(rules.model_dump_json()) == rules
