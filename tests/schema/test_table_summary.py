"""Table summaries: the figures a checker reads instead of the table, over hostile tables too."""

from __future__ import annotations

import json

import pytest

from jupyter_ext.schema import TableSummary, summarise_table
from jupyter_ext.schema.table_summary import is_midpoint_rounded, parse_number


def column(summary: TableSummary, name: str):
    (found,) = [c for c in summary.columns if c.name == name]
    return found


def test_a_count_column_gives_its_figures():
    text = "region,count\nnorth,0\nsouth,3\neast,12\nwest,40\n"
    counts = column(summarise_table(text), "count")
    assert counts.numeric and counts.numbers == 4
    assert (counts.minimum, counts.minimum_above_zero, counts.maximum, counts.total) == (
        0,
        3,
        40,
        55,
    )
    assert counts.under_threshold == 1  # only the 3: zero is no small count
    assert not (counts.rounded_to_5 or counts.rounded_to_10 or counts.midpoint_6)


def test_a_text_column_gives_no_figures_and_no_values():
    summary = summarise_table("region,count\nnorth,10\nsouth,20\n")
    region = column(summary, "region")
    assert not region.numeric and region.minimum is None and region.total is None
    assert "north" not in summary.model_dump_json()


def test_the_threshold_is_given():
    text = "n\n5\n8\n10\n"
    assert column(summarise_table(text, threshold=7), "n").under_threshold == 1
    assert column(summarise_table(text, threshold=10), "n").under_threshold == 3


@pytest.mark.parametrize(
    "values, to_5, to_10, midpoint",
    [
        ([0, 5, 15, 100], True, False, False),
        ([0, 10, 20, 1000], True, True, False),
        ([0, 3, 9, 15, 603], False, False, True),
        ([3, 9, 10], False, False, False),
        ([7.5, 10], False, False, False),  # a fraction is no rounded count
        ([-10, 10], True, True, False),  # midpoint rounding knows no negatives
    ],
)
def test_rounding_is_recognised(values, to_5, to_10, midpoint):
    text = "n\n" + "".join(f"{v}\n" for v in values)
    counts = column(summarise_table(text), "n")
    assert (counts.rounded_to_5, counts.rounded_to_10, counts.midpoint_6) == (to_5, to_10, midpoint)


def test_midpoint_rounding_follows_opensafely_mapping():
    """0 -> 0, 1..6 -> 3, 7..12 -> 9, 13..18 -> 15: the rounded values, and only they."""
    rounded = {v for v in range(40) if is_midpoint_rounded(v, 6)}
    assert rounded == {0, 3, 9, 15, 21, 27, 33, 39}
    assert {v for v in range(30) if is_midpoint_rounded(v, 10)} == {0, 5, 15, 25}


def test_suppression_markers_are_counted_and_keep_a_column_numeric():
    text = "age,count\n10-19,[REDACTED]\n20-29,*\n30-39,15\n40-49,[REDACTED]\n50-59,\n"
    counts = column(summarise_table(text), "count")
    assert counts.numeric and counts.numbers == 1 and counts.empty == 1
    assert counts.markers == {"[REDACTED]": 2, "*": 1}


def test_the_markers_are_given():
    counts = column(summarise_table("n\nSUPP\n10\n", markers=["SUPP"]), "n")
    assert counts.markers == {"SUPP": 1} and counts.numeric
    assert not column(summarise_table("n\nSUPP\n10\n"), "n").numeric  # unknown text


def test_ragged_rows_are_counted_and_padded():
    summary = summarise_table("a,b\n1,2\n3\n4,5,6\n7,8\n")
    assert summary.rows == 4 and summary.ragged_rows == 2
    assert column(summary, "b").empty == 1 and column(summary, "b").total == 15


def test_huge_numbers_are_exact_and_too_huge_ones_are_text():
    big = "9" * 300
    counts = column(summarise_table(f"n\n{big}\n1\n"), "n")
    assert counts.maximum == int(big) and counts.total == int(big) + 1
    assert not column(summarise_table("n\n" + "9" * 400 + "\n1\n"), "n").numeric
    json.loads(summarise_table(f"n\n{big}\n").model_dump_json())  # it travels


@pytest.mark.parametrize("cell", ["NaN", "inf", "-Infinity", "1e999", "12abc", "0x10"])
def test_non_numbers_are_not_numbers(cell):
    assert parse_number(cell) is None


def test_numbers_of_many_spellings():
    assert parse_number(" 42 ") == 42 and parse_number("-3") == -3
    assert parse_number("2.50") == 2.5 and parse_number("1e3") == 1000.0


@pytest.mark.parametrize("text", ["", "\n\n", "a,b\n"])
def test_an_empty_table_gives_an_empty_summary(text):
    summary = summarise_table(text)
    assert summary.rows == 0
    assert all(not c.numeric for c in summary.columns)


def test_a_tsv_table():
    summary = summarise_table("region\tcount\nnorth\t10\nsouth\t20\n", "\t")
    assert column(summary, "count").total == 30


def test_a_table_of_5000_rows():
    rows = "".join(f"r{i % 50},{i % 7 * 5},{i / 3:.3f}\n" for i in range(5000))
    summary = summarise_table("region,count,rate\n" + rows)
    counts, rate = column(summary, "count"), column(summary, "rate")
    assert summary.rows == 5000 and counts.numbers == 5000
    assert counts.total == sum(i % 7 * 5 for i in range(5000))
    assert counts.rounded_to_5 and not counts.rounded_to_10
    assert counts.under_threshold == sum(1 for i in range(5000) if i % 7 == 1)
    assert rate.numeric and not rate.rounded_to_5 and rate.maximum == pytest.approx(4999 / 3)
