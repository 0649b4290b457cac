"""Differencing across releases: a new table against the tables already released.

Pure: no server. The classic attack is built by hand and must be flagged by row and
column, naming the released table and never a value.
"""

from __future__ import annotations

from jupyter_ext.jobserver.differencing import (
    ReleasedIndex,
    Table,
    differencing_findings,
    key_columns,
)
from jupyter_ext.schema import Verdict

COLUMNS = ["region", "patients", "deaths"]
ALL = Table(
    "output/all_by_region.csv",
    COLUMNS,
    [["north", "1200", "40"], ["south", "950", "31"], ["east", "700", "20"], ["west", "400", "9"]],
)
# all patients except those over 90: north loses 2 and 1 death, east loses 9, west none
EXCEPT_OVER_90 = Table(
    "output/under_90_by_region.csv",
    COLUMNS,
    [["north", "1198", "39"], ["south", "950", "31"], ["east", "691", "20"], ["west", "400", "9"]],
)


def test_the_classic_attack_is_flagged_by_row_and_column():
    (overlap,) = ReleasedIndex([ALL]).check(EXCEPT_OVER_90, threshold=7)
    assert overlap.released == "output/all_by_region.csv" and overlap.rows == 4
    assert overlap.cells == [(1, "deaths"), (1, "patients")]  # east's 9 is over 7


def test_the_finding_names_the_released_table_and_no_value():
    overlaps = ReleasedIndex([ALL]).check(EXCEPT_OVER_90, threshold=7)
    (finding,) = differencing_findings(overlaps, 7)
    assert finding.rule == "differencing" and finding.verdict is Verdict.FLAG
    assert finding.cells == [(1, "deaths"), (1, "patients")]
    assert "'output/all_by_region.csv'" in finding.message
    assert "row 1 'deaths'" in finding.message
    for value in ("1198", "1200", "39", "40", "north"):
        assert value not in finding.message


def test_the_threshold_is_given():
    (overlap,) = ReleasedIndex([ALL]).check(EXCEPT_OVER_90, threshold=10)
    assert (3, "patients") in overlap.cells


def test_the_same_table_again_overlaps_without_a_flag():
    (overlap,) = ReleasedIndex([ALL]).check(ALL, threshold=7)
    assert overlap.rows == 4 and overlap.cells == []
    assert differencing_findings([overlap], 7) == []


def test_tables_of_other_columns_or_rows_are_not_compared():
    other_columns = Table("by_sex.csv", ["sex", "patients", "deaths"], [["f", "1199", "39"]])
    other_rows = Table("by_nation.csv", COLUMNS, [["wales", "1199", "39"]])
    index = ReleasedIndex([other_columns, other_rows])
    assert len(index) == 2
    assert index.check(EXCEPT_OVER_90, threshold=7) == []


def test_column_order_does_not_matter():
    reordered = Table(
        "reordered.csv",
        ["deaths", "region", "patients"],
        [[d, r, p] for r, p, d in EXCEPT_OVER_90.rows],
    )
    (overlap,) = ReleasedIndex([ALL]).check(reordered, threshold=7)
    assert overlap.cells == [(1, "deaths"), (1, "patients")]


def test_every_overlapping_release_is_named_in_release_order():
    earlier = Table("march.csv", COLUMNS, [["north", "1197", "39"]])
    index = ReleasedIndex([ALL, earlier])
    overlaps = index.check(EXCEPT_OVER_90, threshold=7)
    assert [o.released for o in overlaps] == ["output/all_by_region.csv", "march.csv"]
    assert overlaps[1].rows == 1 and overlaps[1].cells == [(1, "patients")]


def test_two_key_columns_and_a_numeric_key():
    columns = ["year", "age_band", "count"]
    released = Table("r.csv", columns, [["2023", "0-17", "100"], ["2024", "0-17", "100"]])
    reviewed = Table("n.csv", columns, [["2023", "0-17", "100"], ["2024", "0-17", "97"]])
    assert key_columns(reviewed) == ("year", "age_band")
    (overlap,) = ReleasedIndex([released]).check(reviewed, threshold=7)
    assert overlap.cells == [(2, "count")]


def test_markers_and_ragged_rows_are_no_counts():
    released = Table("r.csv", COLUMNS, [["north", "[REDACTED]", "3"], ["south", "950"]])
    reviewed = Table("n.csv", COLUMNS, [["north", "5", "*"], ["south", "948", "1", "x"]])
    (overlap,) = ReleasedIndex([released]).check(reviewed, threshold=7)
    assert overlap.rows == 2 and overlap.cells == [(2, "patients")]


def test_hostile_tables_give_no_error():
    huge = "9" * 400
    tables = [
        Table("empty.csv", [], []),
        Table("header.csv", COLUMNS, []),
        Table("huge.csv", COLUMNS, [["north", huge, "1e999"], ["north", "NaN", "inf"]]),
        Table("ragged.csv", COLUMNS, [[], ["north"], ["north", "1", "2", "3", "4"]]),
    ]
    index = ReleasedIndex(tables)
    for table in tables:
        assert isinstance(index.check(table, threshold=7), list)


def test_many_flagged_cells_are_named_then_counted():
    rows = [[f"r{i}", str(100 + i)] for i in range(50)]
    released = Table("r.csv", ["region", "n"], rows)
    reviewed = Table("n.csv", ["region", "n"], [[r, str(int(n) - 1)] for r, n in rows])
    (finding,) = differencing_findings(ReleasedIndex([released]).check(reviewed, 7), 7)
    assert finding.message.startswith("50 cells differ") and "and 30 more" in finding.message


def test_a_table_released_after_the_index_was_built_is_compared():
    index = ReleasedIndex([Table("march.csv", COLUMNS, [["north", "1300", "60"]])])
    assert index.check(EXCEPT_OVER_90, threshold=7)[0].cells == []
    index.add(ALL)
    overlaps = index.check(EXCEPT_OVER_90, threshold=7)
    assert [(o.released, o.cells) for o in overlaps] == [
        ("march.csv", []),
        ("output/all_by_region.csv", [(1, "deaths"), (1, "patients")]),
    ]
