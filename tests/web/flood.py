"""A flood of WebSocket opens against a local Tsunagu, as an attacker's separate program would
send it: `python -m tests.web.flood PORT COUNT`. Each socket sends the upgrade and a hello with a
new token, then is held open without reading until this program is told to stop (a line on
stdin). Prints "opened N" when all were sent and "done" when the answers are in. Local only:
it connects to 127.0.0.1 and nowhere else."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import sys


def frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455 5.2), as a browser sends it."""
    data = text.encode()
    mask = os.urandom(4)
    size = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    return bytes([0x81]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def one(port: int, writers: list[asyncio.StreamWriter]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    writers.append(writer)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /chat/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    writer.write(frame(json.dumps({"type": "hello", "token": secrets.token_hex(32), "last_seq": 0})))
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        pass


async def main(port: int, count: int) -> None:
    writers: list[asyncio.StreamWriter] = []
    tasks = [asyncio.create_task(one(port, writers)) for _ in range(count)]
    print(f"opened {count}", flush=True)
    await asyncio.gather(*tasks)
    print("done", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for writer in writers:
        writer.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
