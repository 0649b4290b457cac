"""`check_file` with the backend's rounding rules and the table summary: one reading of the
table gives the rules' findings, the rounding rules' and the summary, each saying where,
never what; rules stored before rounding existed still read."""

from __future__ import annotations

import json

import pytest

from jupyter_ext.schema import FileCheck, ReleaseRules, RoundingRules, Verdict, check_file
from jupyter_ext.schema.tables import MAX_CELLS_NAMED, Finding, read_table

TABLE = "region,count,rate\ncanary-north,35,0.5\ncanary-south,12,1.25\neast,0,2.5\nwest,20,\n"


def check(tmp_path, content: str, rules: ReleaseRules, name: str = "output/t.csv") -> FileCheck:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return check_file(path, rules, name)


def rules(**rounding) -> ReleaseRules:
    return ReleaseRules(rounding=RoundingRules(**rounding))


def only(result: FileCheck, rule: str) -> Finding:
    (finding,) = [f for f in result.findings if f.rule == rule]
    return finding


def test_an_unrounded_count_is_refused_by_row_and_column(tmp_path):
    result = check(tmp_path, TABLE, rules(multiple_of=5))
    finding = only(result, "rounding")
    assert result.refused and finding.verdict is Verdict.REFUSE
    assert finding.cells == [(2, "count")]
    assert finding.message == (
        "1 count is not multiples of 5 (row 2 'count'): round them to a multiple of 5, "
        "then run the action again"
    )
    assert "12" not in finding.model_dump_json()  # where, never what


def test_a_rounded_table_passes(tmp_path):
    result = check(tmp_path, "region,count\nnorth,35\nsouth,10\neast,0\n", rules(multiple_of=5))
    assert result.findings == [] and not result.refused


def test_midpoint_6_rounding_is_judged(tmp_path):
    table = "g,n\na,3\nb,9\nc,0\nd,10\ne,15\n"
    finding = only(check(tmp_path, table, rules(midpoint=6)), "midpoint_rounding")
    assert finding.cells == [(4, "n")]
    assert "midpoint-6" in finding.message


def test_suppressed_cells_must_carry_the_marker(tmp_path):
    table = "g,n\na,[REDACTED]\nb,\nc,NA\nd,10\n"
    finding = only(
        check(tmp_path, table, rules(suppression_marker="[REDACTED]")), "suppression_marker"
    )
    assert finding.cells == [(2, "n"), (3, "n")]
    assert "mark every suppressed count as '[REDACTED]'" in finding.message


def test_rounding_findings_may_be_flagged_instead(tmp_path):
    result = check(tmp_path, TABLE, rules(multiple_of=5, verdict="flag"))
    assert only(result, "rounding").verdict is Verdict.FLAG
    assert not result.refused  # the checkers see it beside the file


def test_rounding_is_off_by_default_and_small_numbers_still_run(tmp_path):
    result = check(tmp_path, "g,n\na,3\nb,12\n", ReleaseRules())
    assert [f.rule for f in result.findings] == ["small_number"]


def test_the_summary_comes_with_every_table_and_holds_no_text_cell(tmp_path):
    result = check(tmp_path, TABLE, ReleaseRules(small_number_threshold=12))
    summary = result.summary
    assert summary is not None and (summary.rows, summary.threshold) == (4, 12)
    region, count, rate = summary.columns
    assert (region.name, region.numeric, region.minimum) == ("region", False, None)
    assert (count.minimum, count.minimum_above_zero, count.maximum, count.total) == (0, 12, 35, 67)
    assert count.under_threshold == 1 and not count.rounded_to_5
    assert (rate.minimum, rate.maximum, rate.empty) == (0.5, 2.5, 1)
    assert "canary" not in result.model_dump_json()


def test_the_summary_counts_the_backends_own_marker(tmp_path):
    table = "g,n\na,SUPP\nb,10\nc,SUPP\n"
    result = check(tmp_path, table, rules(suppression_marker="SUPP"))
    (_, n) = result.summary.columns
    assert n.numeric and n.markers == {"SUPP": 2} and n.rounded_to_10
    assert result.findings == []


def test_a_forbidden_column_is_named_in_the_summary_not_summed(tmp_path):
    result = check(tmp_path, "patient_id,n\n9434765919,30\n", ReleaseRules())
    ids = result.summary.columns[0]
    assert ids.withheld and ids.minimum is None and ids.total is None
    assert "9434765919" not in result.model_dump_json()


def test_files_that_are_not_tables_have_no_summary(tmp_path):
    assert check(tmp_path, "some text", ReleaseRules(), "output/notes.txt").summary is None
    (tmp_path / "bad.csv").write_bytes(b"n\n\xff\n")
    unreadable = check_file(tmp_path / "bad.csv", ReleaseRules())
    assert unreadable.findings[0].rule == "unreadable" and unreadable.summary is None


@pytest.mark.parametrize("marker", [None, "[REDACTED]"])
def test_rules_stored_before_rounding_existed_still_read(marker):
    stored = ReleaseRules().model_dump(mode="json")
    del stored["rounding"]
    assert ReleaseRules.model_validate(stored) == ReleaseRules()
    old_check = {"path": "t.csv", "findings": [], "rows": 2, "columns": ["n"]}
    assert FileCheck.model_validate(old_check).summary is None
    wire = rules(multiple_of=5, suppression_marker=marker).model_dump(mode="json")
    assert ReleaseRules.model_validate(json.loads(json.dumps(wire))).rounding.multiple_of == 5


def test_a_misspelt_rounding_rule_is_refused():
    with pytest.raises(ValueError, match="multiple"):
        ReleaseRules.model_validate({"rounding": {"multiple": 5}})


def test_many_unrounded_cells_name_twenty_and_count_the_rest(tmp_path):
    table = "n\n" + "".join(f"{i * 5 + 1}\n" for i in range(30))
    finding = only(check(tmp_path, table, rules(multiple_of=5)), "rounding")
    assert len(finding.cells) == MAX_CELLS_NAMED and "and 10 more" in finding.message


def test_a_table_is_read_once_with_its_ragged_rows_counted():
    table = read_table("a,b\n1,2\n3\n4,5,6\n\n7,8\n", ",")
    assert (table.header, table.rows, table.ragged) == (["a", "b"], 4, 2)
    assert table.columns == [["1", "3", "4", "7"], ["2", "", "5", "8"]]


def test_the_old_names_are_importable_where_they_were():
    from jupyter_ext.schema import release_rules, tables

    assert release_rules.Finding is tables.Finding and release_rules.Verdict is tables.Verdict
    assert release_rules.MAX_CELLS_NAMED == tables.MAX_CELLS_NAMED
