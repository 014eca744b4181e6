"""The analyst notebooks run end to end (nbclient) against a small published lake."""

import os

import pytest

pytestmark = pytest.mark.integration
NOTEBOOKS = ("population_and_public_services.ipynb", "indicators_and_quality.ipynb")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from citybrain.opendata.publish import run_publish
    from citybrain.opendata.sample import write_sample_lake
    from citybrain.settings import get_settings, reset_settings

    root = tmp_path_factory.mktemp("notebook-lake")
    keys = {"CITYBRAIN_LAKE_URI": str(root / "lake"), "CITYBRAIN_OPEN_DIR": str(root / "open")}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)  # the kernel inherits the environment
    reset_settings()
    settings = get_settings()
    write_sample_lake(settings)
    run_publish(settings)
    yield settings
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    reset_settings()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(published, name):
    import nbformat
    from nbclient import NotebookClient

    path = published.home / "notebooks" / name
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert published.lake_uri in text
    if name.startswith("population"):
        assert "beds_per_1000" in text and "release" in text
    else:
        assert "IND_GRID_ONTIME_CLOSE" in text and "silver.le_enterprise" in text
