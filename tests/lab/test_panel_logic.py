"""The Jobs panel's unit tests (jest, labextension/src/__tests__), run with the Python suite.

`make install` builds the panel, which leaves labextension/node_modules in place.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def test_the_panels_logic_passes_its_jest_tests():
    jlpm = Path(sys.executable).parent / "jlpm"
    if not (LABEXTENSION / "node_modules" / ".bin" / "jest").exists():
        pytest.skip("labextension/node_modules is missing: `make install` (or jlpm install there)")
    if not jlpm.exists() or shutil.which("node") is None:
        pytest.skip("jlpm (the jupyter-builder package) or node is missing")
    done = subprocess.run(
        [str(jlpm), "jest", "--ci"], cwd=LABEXTENSION, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = next(line for line in done.stderr.splitlines() if line.startswith("Tests:"))
    assert "passed" in summary and "failed" not in summary, summary
