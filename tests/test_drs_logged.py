"""``run_logged``: the command line, then the program's output, in the log; status and last line."""

from __future__ import annotations

import shlex
import sys

from peppers.drs.logged import run_logged


def test_argument_list_logs_command_and_interleaved_output(tmp_path):
    code = "import sys; print('one'); print('two', file=sys.stderr); sys.exit(3)"
    done = run_logged([sys.executable, "-c", code], tmp_path / "logs" / "step.log")
    lines = done.log.read_text().splitlines()
    assert (done.status, done.last_line) == (3, "two")
    assert lines[0].startswith(f"$ {sys.executable} -c ") and lines[1:] == ["one", "two"]


def test_shell_line_in_a_folder_and_no_output(tmp_path):
    (tmp_path / "here.txt").write_text("x")
    line = f"{shlex.quote(sys.executable)} -c \"import os; assert os.path.exists('here.txt')\""
    done = run_logged(line, tmp_path / "a.log", cwd=tmp_path)
    assert (done.status, done.last_line) == (0, "(no output)")
    assert done.log.read_text() == f"$ {line}\n"
