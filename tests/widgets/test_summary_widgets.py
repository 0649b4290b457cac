"""The table summary and the rounding rules in the widgets, against the real job server (and
the real runner): the checker's ReviewQueue shows the summary the site made, the analyst's
ReleaseRequest the rounding findings and the summary of their own copy."""

from __future__ import annotations

from jupyter_ext import schema
from jupyter_ext.widgets import ReleaseRequest, ReviewQueue

from ..jobserver.test_review import finished
from ..runner.test_local_runner import RunnerThread
from ..runner.test_uploads import TABLE, run
from .test_release_widgets import RED, world  # noqa: F401 (a fixture)

COUNTS = b"region,patients,deaths\ncanary-north,1200,[REDACTED]\nsouth,955,12\n"


def test_the_checker_reads_the_sites_summary_in_the_queue(world, tmp_path):  # noqa: F811
    on_site = tmp_path / "counts.csv"
    on_site.write_bytes(COUNTS)
    check = schema.check_file(on_site, schema.ReleaseRules(), "output/counts.csv")
    world.user("checker1", ["output_checker"])
    job = finished(
        world, {"output/counts.csv": COUNTS}, {"output/counts.csv": check.model_dump(mode="json")}
    )
    group = {
        "context": "patients by region",
        "disclosure_control": "under 8 redacted",
        "files": [{"job": job, "path": "output/counts.csv"}],
    }
    world.connect("dev").releases.create(backend="tpp", groups={"tables": group})

    queue = ReviewQueue(client=world.connect("checker1"))
    shown = queue.file("output/counts.csv").details.value
    assert "<caption style='text-align:left'>Summary of output/counts.csv" in shown
    assert '<th scope="col">Min &gt; 0</th>' in shown
    assert '<th scope="row"><code>patients</code></th><td>955</td>' in shown
    assert "<td>2,155</td>" in shown and "[REDACTED] \N{MULTIPLICATION SIGN} 1" in shown
    assert "Text columns (not summarised)" in shown and "<code>region</code>" in shown
    assert "canary" not in shown  # no text cell: the summary holds none
    text = repr(queue)
    assert "summary: patients: min 955, min>0 955, max 1,200, sum 2,155" in text
    assert "text columns: region" in text


def test_the_analyst_sees_rounding_findings_and_the_summary_before_asking(world, tmp_path):  # noqa: F811
    rules = schema.ReleaseRules(rounding=schema.RoundingRules(multiple_of=5))
    with RunnerThread(world, tmp_path / "site", release_rules=rules):
        run(world, ["make_table"])  # its runner reports the rules
    here = tmp_path / "workspace"
    (here / "output").mkdir(parents=True)
    (here / TABLE).write_text("region,population,with_condition\nNorth,120,10\nSouth,96,40\n")

    widget = ReleaseRequest(client=world.connect("dev"), workspace_dir=here)
    table = widget.candidates[TABLE]
    table.box.value = True
    widget.check_button.click()
    assert table.check.refused and [f.rule for f in table.check.findings] == ["rounding"]
    shown = table.result.value
    assert "not multiples of 5 (row 2 &#x27;population&#x27;)" in shown and RED in shown
    assert "Summary of output/table_by_region.csv" in shown and "<td>216</td>" in shown
