"""Coverage of the package in a Python child process a test starts.

pytest-cov measures the pytest process only. When it runs, :func:`child_env`
adds ``COVERAGE_PROCESS_START`` to a child's environment: coverage's own
start-up hook (the ``.pth`` file it installs) then measures the child and
writes a parallel data file next to pytest-cov's, which pytest-cov combines
at the end of the run. Without coverage it adds nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import coverage


def child_env(tmp_path: Path) -> dict[str, str]:
    """``os.environ`` for a child process, measured like this one if this one is."""
    env = dict(os.environ)
    current = coverage.Coverage.current()
    if current is None:
        return env
    data_file = os.path.abspath(str(current.get_option("run:data_file")))
    rcfile = tmp_path / "child-coverage.ini"
    rcfile.write_text(
        "[run]\n"
        f"branch = {current.get_option('run:branch')}\n"
        "source = django_flashcall\n"
        "parallel = True\n"
        f"data_file = {data_file}\n"
    )
    env["COVERAGE_PROCESS_START"] = str(rcfile)
    return env
