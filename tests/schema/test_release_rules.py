"""The pre-release rules over real files: each rule, the table formats, and the edges.

A finding must say what to change and never what a cell holds.
"""

from __future__ import annotations

import pytest

from jupyter_ext.schema import FileCheck, ReleaseRules, Verdict, check_file, check_metadata
from jupyter_ext.schema.release_rules import MAX_CELLS_NAMED

RULES = ReleaseRules()


def check(tmp_path, name: str, content: str | bytes, rules: ReleaseRules = RULES) -> FileCheck:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return check_file(path, rules, name)


def rules_of(result: FileCheck) -> list[str]:
    return [f.rule for f in result.findings]


def only(result: FileCheck, rule: str):
    (finding,) = [f for f in result.findings if f.rule == rule]
    return finding


def test_a_clean_aggregate_table_passes(tmp_path):
    result = check(
        tmp_path, "output/table.csv", "region,count,rate\nnorth,35,0.5\nsouth,120,1.25\n"
    )
    assert result.findings == [] and not result.refused
    assert (result.path, result.rows, result.columns) == (
        "output/table.csv",
        2,
        ["region", "count", "rate"],
    )


def test_the_default_rules_are_the_usual_ones():
    assert RULES.max_size == 16 * 1024 * 1024
    assert (RULES.max_csv_rows, RULES.forbidden_columns) == (5_000, ["patient_id"])
    assert (RULES.small_number_threshold, RULES.small_numbers) == (7, Verdict.REFUSE)
    assert ".csv" in RULES.allowed_types and ".parquet" not in RULES.allowed_types


def test_a_type_not_allowed_is_refused_saying_which_are(tmp_path):
    result = check(tmp_path, "output/data.parquet", b"PAR1")
    finding = only(result, "type")
    assert result.refused and finding.verdict is Verdict.REFUSE
    assert ".parquet may not be released" in finding.message
    assert "allowed: .csv" in finding.message
    assert "a file without an ending" in only(check(tmp_path, "output/README", "x"), "type").message


def test_types_compare_without_case(tmp_path):
    rules = ReleaseRules(allowed_types=[".CSV"])
    assert check(tmp_path, "t.Csv", "a\n1000\n", rules).findings == []
    assert rules_of(check(tmp_path, "t.png", b"\x89PNG", rules)) == ["type"]


def test_a_file_over_the_size_limit_is_refused_and_its_table_not_read(tmp_path):
    rules = ReleaseRules(max_size=100)
    result = check(tmp_path, "t.csv", "patient_id\n" + "1\n" * 200, rules)
    assert rules_of(result) == ["size"]  # the big file is not read: no other finding
    assert "over the limit of 0.0 MiB: release a smaller summary" in result.findings[0].message
    assert result.rows is None
    assert check_metadata("t.csv", 100, rules) == []  # the limit itself is allowed
    assert [f.rule for f in check_metadata("t.csv", 101, rules)] == ["size"]


def test_rows_over_the_limit_are_refused_and_the_limit_itself_allowed(tmp_path):
    body = "".join(f"r{n},{100 + n}\n" for n in range(5_000))
    assert check(tmp_path, "ok.csv", "name,count\n" + body).findings == []
    result = check(tmp_path, "big.csv", "name,count\n" + body + "r,100\n")
    finding = only(result, "rows")
    assert result.rows == 5_001 and finding.verdict is Verdict.REFUSE
    assert finding.message == (
        "the table has 5,001 rows, over the limit of 5,000: "
        "release an aggregate, not row-level data"
    )


def test_blank_lines_are_not_rows(tmp_path):
    result = check(tmp_path, "t.csv", "name,count\n\nnorth,30\n\n\n", ReleaseRules(max_csv_rows=1))
    assert (result.rows, result.findings) == (1, [])


@pytest.mark.parametrize("column", ["patient_id", "Patient_ID", "PATIENT_ID", " patient_id "])
def test_a_forbidden_column_is_refused_in_any_case(tmp_path, column):
    result = check(tmp_path, "t.csv", f"{column},count\n9434765919,30\n")
    finding = only(result, "forbidden_column")
    assert result.refused
    assert finding.message == f"the column {column!r} identifies people: drop it before release"
    assert "9434765919" not in result.model_dump_json()  # where, never what


def test_forbidden_columns_are_configurable(tmp_path):
    rules = ReleaseRules(forbidden_columns=["NHS_Number", "postcode"])
    result = check(tmp_path, "t.csv", "nhs_number,Postcode,patient_id\n1,2,3\n", rules)
    assert [f.message.split("'")[1] for f in result.findings if f.rule == "forbidden_column"] == [
        "nhs_number",
        "Postcode",
    ]


def test_a_tsv_is_read_with_tabs(tmp_path):
    result = check(tmp_path, "t.tsv", "region\tpatient_id\tcount\nnorth, east\t9434765919\t3\n")
    assert result.columns == ["region", "patient_id", "count"]
    assert rules_of(result) == ["forbidden_column", "small_number"]
    assert only(result, "small_number").cells == [(1, "count")]


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    result = check(tmp_path, "t.csv", "\ufeffpatient_id,count\n9434765919,100\n".encode())
    assert result.columns == ["patient_id", "count"]
    assert rules_of(result) == ["forbidden_column"]


def test_a_table_that_is_not_utf8_is_unreadable_saying_where(tmp_path):
    result = check(tmp_path, "t.csv", "région,count\nnorth,30\n".encode("latin-1"))
    finding = only(result, "unreadable")
    assert result.refused and result.rows is None
    assert finding.message == (
        "the table cannot be read as UTF-8 CSV text (byte 2 is not UTF-8): save it as UTF-8 CSV"
    )
    with_mark = check(tmp_path, "m.csv", b"\xef\xbb\xbfr\xe9gion,count\n")
    assert "(byte 5 is not UTF-8)" in only(with_mark, "unreadable").message  # counting the mark


def test_a_table_csv_cannot_parse_is_unreadable_not_a_crash(tmp_path):
    huge = check(tmp_path, "t.csv", 'a,b\n"' + "x" * 200_000 + '",1\n')
    assert "field larger than field limit" in only(huge, "unreadable").message
    nul = check(tmp_path, "n.csv", "a\x00b,count\n1,2\n")
    assert "it holds NUL characters" in only(nul, "unreadable").message
    assert rules_of(check(tmp_path, "s.csv", "a,count\nx,²\ny,3\n")) == ["small_number"]


def test_a_count_column_with_markers_and_empty_cells_is_still_checked(tmp_path):
    content = "region,count\nnorth,[REDACTED]\nsouth,\neast,5\nwest, 2 \nmid,NaN\nnw,120\n"
    finding = only(check(tmp_path, "t.csv", content), "small_number")
    assert finding.cells == [(3, "count"), (4, "count")]


def test_a_column_of_fractions_is_not_a_count_column(tmp_path):
    content = "region,rate,change\nnorth,3,5\nsouth,0.25,-2\neast,1,1e3\n"
    assert check(tmp_path, "t.csv", content).findings == []


def test_zero_is_not_a_small_number(tmp_path):
    assert check(tmp_path, "t.csv", "region,count\nnorth,0\nsouth,00\neast,100\n").findings == []


def test_the_threshold_is_flagged_and_one_more_is_not(tmp_path):
    content = "region,count\nnorth,7\nsouth,8\neast,007\nwest,1\n"
    finding = only(check(tmp_path, "t.csv", content), "small_number")
    assert finding.cells == [(1, "count"), (3, "count"), (4, "count")]
    higher = ReleaseRules(small_number_threshold=10)
    assert len(only(check(tmp_path, "t.csv", content, higher), "small_number").cells) == 4
    off = ReleaseRules(small_number_threshold=0)
    assert check(tmp_path, "t.csv", content, off).findings == []


def test_small_numbers_may_be_flagged_instead_of_refused(tmp_path):
    rules = ReleaseRules(small_numbers="flag")
    result = check(tmp_path, "t.csv", "region,count\nnorth,3\n", rules)
    assert only(result, "small_number").verdict is Verdict.FLAG and not result.refused


def test_many_small_cells_name_twenty_and_count_the_rest(tmp_path):
    body = "".join(f"r{n},{n % 7 + 1},{n % 3 + 4}\n" for n in range(30))
    finding = only(check(tmp_path, "t.csv", "name,cases,deaths\n" + body), "small_number")
    assert len(finding.cells) == MAX_CELLS_NAMED
    assert finding.cells[:3] == [(1, "cases"), (1, "deaths"), (2, "cases")]  # in row order
    assert finding.message.startswith("60 counts from 1 to 7 (row 1 'cases', row 1 'deaths',")
    assert finding.message.endswith(
        "row 10 'cases', row 10 'deaths' and 40 more): suppress or round them, "
        "then run the action again"
    )
    one = only(check(tmp_path, "o.csv", "name,count\nx,4\n"), "small_number")
    assert one.message.startswith("1 count from 1 to 7 (row 1 'count'):")


def test_cells_say_where_and_never_what(tmp_path):
    content = "region,count\nnorth,6\nsouth,4\n"
    result = check(tmp_path, "t.csv", content)
    finding = only(result, "small_number")
    assert finding.cells == [(1, "count"), (2, "count")]
    assert all(set(map(type, cell)) == {int, str} for cell in finding.cells)
    for value in ("north", "south", "6", "4"):
        assert value not in [str(part) for cell in finding.cells for part in cell]
    dumped = result.model_dump(mode="json")
    assert "north" not in str(dumped["findings"])


def test_rows_of_uneven_length_are_read_as_padded(tmp_path):
    content = "region,count,deaths\nnorth,3\nsouth,100,2,extra\n"
    finding = only(check(tmp_path, "t.csv", content), "small_number")
    assert finding.cells == [(1, "count"), (2, "deaths")]


def test_files_that_are_not_tables_are_judged_by_name_and_size_only(tmp_path):
    assert check(tmp_path, "plot.svg", "<svg>patient_id 3</svg>").findings == []
    assert check(tmp_path, "notes.txt", "patient_id,count\n1,2\n").findings == []


def test_an_empty_table_passes(tmp_path):
    result = check(tmp_path, "t.csv", "")
    assert (result.findings, result.rows, result.columns) == ([], 0, [])


def test_rows_are_numbered_on_across_a_long_table(tmp_path):
    rows = [f"r{n},{3 if n == 300 else 100},{2 if n == 600 else 50}" for n in range(1, 601)]
    rows[598] = "r599"  # a short row, far down
    result = check(tmp_path, "t.csv", "\n".join(["region,count,deaths", *rows]) + "\n")
    assert result.rows == 600
    assert only(result, "small_number").cells == [(300, "count"), (600, "deaths")]
