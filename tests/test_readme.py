"""The README's Python examples run as written, each pasted into a script."""

import re
import subprocess
import sys

import pytest
from conftest import DEMO_DATA, ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_runs_as_a_script(index, tmp_path):
    # As a user would: the block saved as a file and run with python, from a
    # folder where data/ is the demo set. A script (not exec) is what
    # multiprocessing needs, for the Dask example's worker processes.
    (tmp_path / "data").symlink_to(DEMO_DATA)
    script = tmp_path / "example.py"
    script.write_text(BLOCKS[index])
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


def test_readme_dask_example_has_the_main_guard():
    dask_blocks = [block for block in BLOCKS if "LocalCluster" in block]
    assert dask_blocks
    for block in dask_blocks:
        assert 'if __name__ == "__main__":' in block
