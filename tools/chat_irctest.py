"""irctest controller for this project's chat server (its IRC listener, `server.ts --irc`).

Run from the project root with irctest and this directory on PYTHONPATH:

    PYTHONPATH=../shared/irctest:tools python3 -m pytest --controller chat_irctest ...

(see docs/irc.md). Each test starts a fresh server on the port irctest gives.
"""

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
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

# irctest's server operator (`OPER operuser operpassword`): an account made once per worker
# in a --db file (`server.ts account add`), copied for each server, which names it --admins.
OPER_NAME, OPER_PASSWORD = "operuser", "operpassword"
_work = tempfile.mkdtemp(prefix="chat-irctest-")
atexit.register(shutil.rmtree, _work, True)
_oper_db: Optional[str] = None


def _db_with_operator() -> str:
    """A fresh --db file holding only the operator's account."""
    global _oper_db
    deno = os.environ.get("DENO", "deno")
    if _oper_db is None:
        _oper_db = os.path.join(_work, "oper.db")
        subprocess.run(
            [deno, "run", "-A", str(ROOT / "server.ts"), "account", "add", OPER_NAME,
             "--db", _oper_db],
            input=(OPER_PASSWORD + "\n").encode(),
            stdout=subprocess.DEVNULL,
            check=True,
        )
    db = tempfile.mktemp(suffix=".db", dir=_work)
    shutil.copyfile(_oper_db, db)
    return db


class ChatController(BaseServerController):
    software_name = "chat"
    supported_sasl_mechanisms = {"PLAIN", "SCRAM-SHA-256"}
    supports_sts = False
    capabilities = frozenset(
        {
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.EXTENDED_JOIN,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.MULTI_PREFIX,
            Capabilities.READ_MARKER,
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
        if self.test_config.account_registration_requires_email:
            # Accounts need no email here (REGISTER takes one and ignores it).
            raise NotImplementedByController("account registration with email")
        extra = []
        if self.test_config.account_registration_before_connect:
            extra.append("--irc-register-before-connect")
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
                "-W",
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
                "--db",
                _db_with_operator(),
                "--admins",
                OPER_NAME,
                *extra,
            ]
        )
        _servers.append(self.proc)


    def wait_for_services(self) -> None:
        # NickServ is part of the server: it is up once the server is.
        pass

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:
        """Registers an account over a client connection, as irctest's Ergo controller does."""
        if not case.run_services:
            raise ValueError("Attempted to register a nick, but `run_services` is not True.")
        assert password
        client = case.addClient(show_io=False)
        case.sendLine(client, "CAP LS 302")
        case.sendLine(client, "NICK " + username)
        case.sendLine(client, "USER r e g :user")
        case.sendLine(client, "CAP END")
        while case.getRegistrationMessage(client).command != "001":
            pass
        case.getMessages(client)
        case.sendLine(client, "NS REGISTER " + password)
        msg = case.getMessage(client)
        assert msg.params == [username, "Account created"], msg
        case.sendLine(client, "QUIT")
        case.assertDisconnected(client)


def get_irctest_controller_class() -> Type[ChatController]:
    return ChatController
