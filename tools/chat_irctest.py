"""irctest controller for this project's chat server (its IRC listener, `server.ts --irc`).

Run from the project root with irctest and this directory on PYTHONPATH:

    PYTHONPATH=../shared/irctest:tools python3 -m pytest --controller chat_irctest ...

(see README, "IRC"). Each test starts a fresh server on the port irctest gives.
"""

import os
from pathlib import Path
from typing import Optional, Type

from irctest.basecontrollers import BaseServerController, NotImplementedByController
from irctest.specifications import Capabilities

ROOT = Path(__file__).resolve().parent.parent


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


def get_irctest_controller_class() -> Type[ChatController]:
    return ChatController
