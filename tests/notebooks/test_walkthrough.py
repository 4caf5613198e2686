"""The walkthrough notebook runs top to bottom (its code cells, in order, in one namespace)."""

import json
import os

import pytest

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "notebooks", "walkthrough.ipynb")


@pytest.mark.slow
def test_walkthrough_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with open(NOTEBOOK) as f:
        cells = [c for c in json.load(f)["cells"] if c["cell_type"] == "code"]
    namespace = {}
    for index, cell in enumerate(cells):
        code = "".join(cell["source"])
        exec(compile(code, f"walkthrough cell {index}", "exec"), namespace)  # noqa: S102
    assert namespace["metrics"]["auc"] > 0.85
    assert {"serving_default", "classification"} <= set(namespace["loaded"].signatures)
    outcome = namespace["outcome"]
    assert outcome["blessing"]["blessed"] and outcome["push"]["pushed"]
    assert outcome["trainer"]["final_step"] == 300
