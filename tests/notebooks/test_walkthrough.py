"""The walkthrough notebook: its committed outputs are there and clean, and it runs top to
bottom with the outcomes it shows.

Running it takes a minute or two on 2 cores, nearly all of it the local pipeline run (every
step in the kernel's process): CI runs it with the slow tests (.ci/run), keeping the default
suite under 15 minutes; the default suite checks the outputs committed with it
(`make notebook-outputs` writes them).
"""

import json
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NOTEBOOK = os.path.join(ROOT, "notebooks", "walkthrough.ipynb")
MAX_BYTES = 1_500_000
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}
SHOWN_SPECIES = ["Adelie", "Gentoo", "Chinstrap"]  # the three penguins the notebook asks about
# What the notebook found, as JSON: a cell the test appends and runs after the notebook's own.
PROBE = """
import json
print(json.dumps({"blessed": outcome["blessing"]["blessed"], "version": outcome["push"]["version"],
                  "checkpoint_steps": [c.step for c in checkpoints], "training_steps": steps,
                  "answers": answers, "work_removed": not os.path.exists(work)}))
"""


def _tagged(notebook, tag: str):
    (cell,) = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    return cell


def _check_outputs(notebook) -> None:
    """Every code cell ran once, in order, without an error or a line on stderr (TensorFlow's
    start-up noise among them); the plot, the report and the answers are there; the only
    absolute paths shown are in the notebook's temporary folder."""
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    assert "quiet_tensorflow()" in cells[0].source and not cells[0].outputs
    outputs = [output for cell in cells for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert "image/png" in _tagged(notebook, "loss-curve").outputs[0].data
    report = _tagged(notebook, "report").outputs[0].data["text/html"]
    assert report.startswith("<div><iframe srcdoc=") and "Model evaluation" in report
    assert "BLESSED" in report and "Confusion matrix" in report
    answers = _tagged(notebook, "serving").outputs[0].data["text/plain"]
    assert re.findall(r"\b(\w+)\s+\1\s+[01]\.\d+", answers) == SHOWN_SPECIES  # species predicted
    streams = "".join(o.text for o in outputs if o.output_type == "stream")
    paths = re.findall(r"(?:^|\s)(/\S+)", streams)
    assert paths and all(re.search(r"/walkthrough-\w+/", path) for path in paths), paths
    text = nbformat.writes(notebook)
    assert ROOT not in text and "site-packages" not in text


def test_committed_walkthrough_holds_its_outputs():
    with open(NOTEBOOK) as f:
        text = f.read()
    assert len(text.encode()) < MAX_BYTES
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    _check_outputs(notebook)


@pytest.mark.slow
def test_walkthrough_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's temporary folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(  # the kernel imports this checkout
        [ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    NotebookClient(notebook, timeout=900, record_timing=False,
                   resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}}).execute()

    probe = notebook.cells.pop()
    found = json.loads(probe.outputs[0].text)
    _check_outputs(notebook)
    assert found["blessed"] and found["version"] == 1
    assert found["checkpoint_steps"] == list(range(0, 401, 50))  # every checkpoint evaluated
    assert found["training_steps"] == [100, 200, 300, 400]
    for answer, expected in zip(found["answers"], SHOWN_SPECIES, strict=True):
        assert {name for name, _ in answer} == SPECIES
        assert max(answer, key=lambda pair: pair[1])[0] == expected
        assert sum(score for _, score in answer) == pytest.approx(1.0, abs=1e-5)
    assert found["work_removed"] and not list(tmp_path.glob("walkthrough-*"))
