"""The monitor socket refuses strangers and bad messages, and the run goes on.

Another uid is tried for real: a forked child drops to uid 65534 (the tests
run as root) and connects; first through the 0600 socket file (the kernel
refuses), then with the file opened to all (the server's peer-credential
check refuses). Garbage, a wrong version, a truncated line and a 10 MB line
are sent while a detached run works; it must finish with the right output.
"""

from __future__ import annotations

import grp
import json
import math
import os
import socket
import sys

import numpy as np
import pytest

from peppers.rmi import detach, run_status, wait_started
from peppers.rmi.client import MonitorClient
from peppers.rmi.peercred import PeerCredentials, authorize

from support.rmi import DEADLINE, expected, gate, output, wait_for, write_script


def _start(tmp_path, delay=0.08):
    script = write_script(tmp_path)
    root = tmp_path / "run"
    root.mkdir()
    gate(root, 64)  # 16 tiles, then the run waits until the test opens the gate
    pid = detach(root, [sys.executable, str(script), str(root), str(delay)])
    wait_started(root, pid, timeout=DEADLINE)
    sock = root / ".peppers" / "monitor.sock"
    wait_for(sock.exists, what="the socket")
    return root, pid, sock


def _line(sock: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return json.loads(data.split(b"\n")[0])


def _raw(path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(DEADLINE)
    sock.connect(os.fspath(path))
    assert _line(sock)["type"] == "welcome"
    return sock


def _as_nobody(folder) -> int:
    """Fork; the child connects to ``folder/monitor.sock`` as uid 65534; its exit status.

    0: connected and got a ``refused`` line naming the uid; 10: the kernel
    refused the connection (permission); anything else: a failure.
    """
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.chdir(folder)
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(DEADLINE)
            try:
                sock.connect("monitor.sock")
            except PermissionError:
                code = 10
            else:
                reply = _line(sock)
                code = 0 if reply["type"] == "refused" and "uid 65534" in reply["error"] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching uid needs root; "
                    "test_peer_check_rules covers the check itself")
def test_other_uid_refused_for_real_while_owner_attaches(tmp_path):
    root, pid, sock = _start(tmp_path)
    try:
        assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
        assert _as_nobody(sock.parent) == 10           # the file mode stops it
        os.chmod(sock, 0o666)
        assert _as_nobody(sock.parent) == 0            # the peer check stops it
        with MonitorClient.connect(root) as owner:     # the owner still gets in
            state = owner.request("status")["state"]
            assert state["refused"] == 1
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_peer_check_rules():
    group = grp.getgrgid(0).gr_name
    assert authorize(PeerCredentials(1, 1000, 1000), 1000) is None
    refused = authorize(PeerCredentials(1, 1001, 1001), 1000)
    assert "uid 1001 is not the run's owner (uid 1000)" in refused
    assert authorize(PeerCredentials(1, 1001, 0), 1000, group) is None  # primary group
    assert "neither the run's owner" in authorize(PeerCredentials(1, 1001, 1001), 1000, group)
    assert "does not exist" in authorize(PeerCredentials(1, 1001, 0), 1000, "no-such-grp-x")


def test_garbage_truncated_and_huge_messages_refused_while_the_run_continues(tmp_path):
    root, pid, sock_path = _start(tmp_path)
    try:
        with _raw(sock_path) as sock:
            sock.sendall(b"this is not json\n")
            assert "malformed" in _line(sock)["error"]
            sock.sendall(b"[1, 2, 3]\n")
            assert "JSON object" in _line(sock)["error"]
            sock.sendall(b'{"v": 2, "op": "status"}\n')
            assert "version 2" in _line(sock)["error"]
            sock.sendall(b'{"v": 1, "op": "explode"}\n')
            assert "unknown op" in _line(sock)["error"]
            sock.sendall(b'{"v": 1, "op": "command", "action": "abort"}\n')
            assert "commands need control" in _line(sock)["error"]
            sock.sendall(b'{"v": 1, "op": "status", "id": 7}\n')  # still served
            reply = _line(sock)
            assert reply["type"] == "ok" and reply["id"] == 7

        with _raw(sock_path) as sock:                  # truncated: closes mid-line
            sock.sendall(b'{"v": 1, "op": "sta')

        with _raw(sock_path) as sock:                  # 10 MB without a newline
            try:
                sock.sendall(b"x" * (10 * 1024 * 1024))
            except (BrokenPipeError, ConnectionResetError):
                pass
            reply = _line(sock)
            assert reply["type"] == "error" and "oversized" in reply["error"]
            try:                                       # and the connection is closed
                assert sock.recv(10) == b""
            except ConnectionResetError:               # (reset: our unread bytes)
                pass

        with MonitorClient.connect(root) as client:
            assert client.request("status")["state"]["state"] == "running"
        gate(root, math.inf)
        wait_for(lambda: run_status(root).state == "finished", what="the end")
        os.waitpid(pid, 0)
        np.testing.assert_array_equal(output(root), expected())
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
