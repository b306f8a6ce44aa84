#!/usr/bin/env python3
"""delay_relay.py - a TCP relay that stands in for a long link (tests only).

    delay_relay.py (--target HOST:PORT | --exec COMMAND) [--delay MS] [--rate BYTES_PER_S] [--cut-at N]
                   [--port-file FILE]

Listens on 127.0.0.1 (an ephemeral port, written to --port-file and stdout) and
relays every connection to the target, or to a new COMMAND (a classic rmt
server, say) on a socket as its stdin and stdout. Each direction holds every chunk for the
one-way delay (so the round trip is twice it) and, with --rate, paces the bytes
to that rate, as a link of that bandwidth would. With --cut-at N the relay
forwards the first N bytes from the client to the server and then resets both
sides: the link failing in the middle of whatever was in flight. It prints one
line on stderr per connection: bytes each way, and whether it was cut.
"""
import argparse
import asyncio
import socket
import struct
import sys
import time


class Direction:
    def __init__(self, reader, writer, delay, rate, limit=None):
        self.reader, self.writer = reader, writer
        self.delay, self.rate, self.limit = delay, rate, limit
        self.queue = asyncio.Queue()
        self.moved = 0
        self.cut = False

    async def receive(self):
        while True:
            data = await self.reader.read(256 * 1024)
            await self.queue.put((time.monotonic() + self.delay, data))
            if not data:
                return

    async def send(self):
        next_free = time.monotonic()
        while True:
            due, data = await self.queue.get()
            if not data:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                return
            if self.limit is not None and self.moved + len(data) >= self.limit:
                data = data[:self.limit - self.moved]
                self.cut = True
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            self.writer.write(data)
            await self.writer.drain()
            if self.rate:
                # The link is busy until next_free: it starts these bytes when they
                # are due or when it is free, whichever is later, never when this
                # task woke (a late wake-up must not slow the link down). Slept in
                # one go once ahead by a few milliseconds (fine-grained sleeps cost more).
                next_free = max(next_free, due) + len(data) / self.rate
                wait = next_free - time.monotonic()
                if wait > 0.002:
                    await asyncio.sleep(wait)
            self.moved += len(data)
            if self.cut:
                return


def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.close()


async def serve(args, client_reader, client_writer):
    if args.exec:
        ours, theirs = socket.socketpair()
        process = await asyncio.create_subprocess_exec(*args.exec.split(), stdin=theirs,
                                                       stdout=theirs)
        theirs.close()
        server_reader, server_writer = await asyncio.open_connection(sock=ours)
    else:
        host, port = args.target.rsplit(":", 1)
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
    for w in (client_writer, server_writer):
        if w.get_extra_info("socket").family != socket.AF_UNIX:
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    delay = args.delay / 1000.0
    up = Direction(client_reader, server_writer, delay, args.rate, args.cut_at)
    down = Direction(server_reader, client_writer, delay, args.rate)
    tasks = [asyncio.ensure_future(t) for t in (up.receive(), up.send(), down.receive(),
                                                down.send())]
    try:
        if args.cut_at is not None:
            await tasks[1]
            if up.cut:
                reset(client_writer)
                reset(server_writer)
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for t in tasks:
            t.cancel()
        for w in (client_writer, server_writer):
            if not w.is_closing():
                w.close()
    print("delay_relay: %d bytes up, %d down%s" % (up.moved, down.moved,
                                                   ", cut" if up.cut else ""),
          file=sys.stderr, flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target")
    parser.add_argument("--exec")
    parser.add_argument("--delay", type=float, default=0.0, help="one-way delay in ms")
    parser.add_argument("--rate", type=float, default=0.0, help="bytes per second, 0: none")
    parser.add_argument("--cut-at", type=int, default=None)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: serve(args, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
