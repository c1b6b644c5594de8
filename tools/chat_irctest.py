"""irctest controller for this project's chat server (its IRC listener, `server.ts --irc`).

Run from the project root with irctest and this directory on PYTHONPATH:

    PYTHONPATH=../shared/irctest:tools python3 -m pytest --controller chat_irctest ...

(see docs/irc.md). Each test starts a fresh server on the port irctest gives.
"""

import atexit
import os
import signal
import subprocess
from pathlib import Path
from typing import List, Optional, Type

from irctest.basecontrollers import BaseServerController, NotImplementedByController
from irctest.specifications import Capabilities

ROOT = Path(__file__).resolve().parent.parent

# Every server this (pytest worker) process started. A test whose setUp fails after the
# server is up gets no tearDown, so irctest never stops that server: each new server,
# and the end of the run, stops those that outlived their test.
_servers: List[subprocess.Popen] = []


def _stop_leftovers() -> None:
    for proc in _servers:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: see execute()
            except OSError:
                proc.kill()
            proc.wait(10)
    _servers.clear()


atexit.register(_stop_leftovers)


class ChatController(BaseServerController):
    software_name = "chat"
    supported_sasl_mechanisms: set = set()
    supports_sts = False
    capabilities = frozenset(
        {
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
        }
    )

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if ssl:
            raise NotImplementedByController("TLS")
        if password is not None:
            raise NotImplementedByController("PASS")
        if run_services:
            raise NotImplementedByController("Services")
        assert self.proc is None
        _stop_leftovers()
        self.port = port
        self.hostname = hostname
        deno = os.environ.get("DENO", "deno")
        self.proc = self.execute(
            [
                deno,
                "run",
                "-N",
                "-R",
                "-E",
                "--allow-sys=hostname",
                str(ROOT / "server.ts"),
                "--host",
                hostname,
                "--port",
                "0",
                "--no-web",
                "--irc",
                str(port),
                "--irc-name",
                "My.Little.Server",
                # Tests open many connections at once from 127.0.0.1, quickly.
                "--max-per-address",
                "0",
                "--connect-rate",
                "0",
            ]
        )
        _servers.append(self.proc)


def get_irctest_controller_class() -> Type[ChatController]:
    return ChatController
