"""A real uvicorn server running the app in a thread on a loopback port.

In process, so a test can both talk to the server over real sockets and look at its state
(the run service, the network cache) and choose small limits through Settings.
"""

import socket
import threading
import time

import uvicorn

from app.main import create_app
from app.settings import Settings


class Live:
    def __init__(self, settings: Settings):
        self.app = create_app(settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", ws_max_size=1 << 20))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)

    @property
    def services(self):
        return self.app.state.services

    def close(self):
        self.server.should_exit = True
        self.thread.join(20)
        assert not self.thread.is_alive(), "the server did not stop"
