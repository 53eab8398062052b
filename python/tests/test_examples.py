"""The README's Python example runs and prints what the README says."""

import os
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                       "python", "quickstart.py")


def test_readme_quickstart_prints_the_counts():
    out = subprocess.run([sys.executable, EXAMPLE], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "{'count': 0, 'done': 10}\n"
