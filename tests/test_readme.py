"""The README's Python examples run as written."""

import re

import pytest
from conftest import DEMO_DATA, ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_runs(index, tmp_path, monkeypatch):
    (tmp_path / "data").symlink_to(DEMO_DATA)
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2
