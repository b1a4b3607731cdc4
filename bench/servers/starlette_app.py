"""Peer: Starlette under uvicorn (one worker, no access log, log level warning), plaintext and json.

Run by bench/run.mjs with bench/.venv's python: `python bench/servers/starlette_app.py`. It starts
uvicorn programmatically rather than through the `uvicorn` CLI only so that it can bind PORT (0: any
free port) itself and print `READY <port>` once uvicorn has started, the handshake every bench server
uses. uvicorn's "auto" loop and http pick uvloop and httptools when installed (its fast path).
"""

import asyncio
import os
import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def plaintext(_request):
    return PlainTextResponse("Hello, World!")


async def json(_request):
    return JSONResponse({"message": "Hello, World!"})


app = Starlette(routes=[Route("/plaintext", plaintext), Route("/json", json)])


class ReadyServer(uvicorn.Server):
    """A uvicorn Server that announces its port once it listens."""

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        # Which loop and parser "auto" chose goes to stderr, so a run without uvloop/httptools shows.
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        print(f"uvicorn: loop {loop}, http {self.config.http_protocol_class.__name__}", file=sys.stderr)
        print(f"READY {sockets[0].getsockname()[1]}", flush=True)


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(os.environ.get("PORT", "0"))))
    config = uvicorn.Config(app, workers=1, access_log=False, log_level="warning", lifespan="off")
    ReadyServer(config).run(sockets=[sock])
