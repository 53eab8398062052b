"""Fixtures: real managers (the installed `mproc` binary), never mocks.

`manager`: a private manager, as mproc.Manager() starts it, one per test
module. `daemon`: a stand-alone `mproc manager` on an ephemeral loopback
port with a key file of its own, as another machine's manager would be.
"""

import os
import re
import secrets
import subprocess
import time

import pytest

import mproc
from mproc import managers


def binary():
    return managers._find_binary()


class Daemon:
    """`mproc manager --listen 127.0.0.1:0` with its own key."""

    def __init__(self, directory, extra=()):
        self.key = secrets.token_hex(32).encode()
        self.key_file = os.path.join(directory, "authkey")
        with open(os.open(self.key_file, os.O_WRONLY | os.O_CREAT, 0o600),
                  "wb") as f:
            f.write(self.key)
        self.log_path = os.path.join(directory, "daemon.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary(), "manager", "--listen", "127.0.0.1:0", "--authkey-file",
             self.key_file, "--in-memory", *extra],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            text = open(self.log_path, "rb").read().decode(errors="replace")
            m = re.search(r"listening on (\S+)", text)
            if m:
                self.address = m.group(1)
                break
            assert self.process.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.01)
        host, _, port = self.address.rpartition(":")
        self.tuple_address = (host, int(port))

    def cli(self, *args, timeout=30):
        """Runs the C++ CLI against this manager."""
        env = dict(os.environ, MPROC_AUTHKEY=self.key.decode())
        return subprocess.run(
            [binary(), "--manager", self.address, *args], env=env,
            capture_output=True, text=True, timeout=timeout)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def manager():
    m = mproc.Manager()
    yield m
    m.shutdown()


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(str(tmp_path))
    yield d
    d.stop()


@pytest.fixture
def second_daemon(tmp_path):
    directory = tmp_path / "second"
    directory.mkdir()
    d = Daemon(str(directory))
    yield d
    d.stop()
