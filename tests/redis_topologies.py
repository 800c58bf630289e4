"""Redis beyond one server, for the tests: a primary with a replica and a sentinel, and a cluster.

Every process is a real ``redis-server`` (a sentinel is ``redis-server --sentinel``) on a free
loopback port with its files in a folder of the test's. Each change of state (a replica in
sync, a sentinel that knows the replica, a failover done, a cluster's slots all served) is
waited for by polling the servers with a deadline, never with a fixed sleep.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.redis_server import POLL_INTERVAL_S, RedisServer, free_port, require_redis_server

__all__ = ["SERVICE", "RedisCluster", "SentinelSet", "wait_until"]

SERVICE = "shop-redis"
"""The name the sentinel watches the primary under."""

DEADLINE_S = 30.0
"""Longest wait for a state of the servers (a failover takes one to two seconds here)."""


_AT_ONCE = ("--repl-diskless-sync-delay", "0")
"""A primary sends a new replica its data at once (by default it waits 5 s for others)."""


def wait_until(
    condition: Callable[[], bool],
    what: str,
    deadline_s: float = DEADLINE_S,
    state: Callable[[], object] = lambda: "",
) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` (and the ``state`` of
    the servers then) after the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if condition():
                return
        except redis.exceptions.RedisError:
            pass  # a server on its way up or down
        if time.monotonic() > deadline:
            pytest.fail(f"not within {deadline_s} s: {what} {state()}")
        time.sleep(POLL_INTERVAL_S)


def _replication(server: RedisServer) -> dict[str, object]:
    with server.client() as raw:
        info: dict[str, object] = raw.info("replication")
        return info


class SentinelSet:
    """A primary, a replica of it and one sentinel watching them (quorum 1)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "a").mkdir()
        (folder / "b").mkdir()
        self.primary = RedisServer(folder / "a", options=_AT_ONCE).start()
        replica_of = ("--replicaof", "127.0.0.1", str(self.primary.port), *_AT_ONCE)
        self.replica = RedisServer(folder / "b", options=replica_of).start()
        self.sentinel_port = free_port()
        self.sentinel: subprocess.Popen[bytes] | None = None
        self._start_sentinel()
        wait_until(self._replica_known, "the sentinel knows the replica, in sync")

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}/0"

    def _start_sentinel(self) -> None:
        config = self.folder / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"logfile {self.folder / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 1\n"
            # Failovers are asked for (SENTINEL FAILOVER), never waited for: a short
            # down-after let a loaded machine's slow reply start a second one of its own.
            f"sentinel down-after-milliseconds {SERVICE} 10000\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
        )
        command = [require_redis_server(), str(config), "--sentinel"]
        self.sentinel = subprocess.Popen(command, stdout=subprocess.DEVNULL)

    def sentinel_client(self) -> redis.Redis:
        return redis.Redis(port=self.sentinel_port, socket_timeout=5, decode_responses=True)

    def _replica_known(self) -> bool:
        with self.sentinel_client() as sentinel:
            replicas = sentinel.sentinel_slaves(SERVICE)
        flags = [replica["flags"] for replica in replicas]
        in_sync = _replication(self.replica).get("master_link_status") == "up"
        return in_sync and flags == ["slave"]

    def _switched(self) -> bool:
        """The sentinel names the replica as the primary, in a state clients take (redis-py
        asks ``SENTINEL MASTERS`` and refuses a primary down or still being failed over)."""
        with self.sentinel_client() as sentinel:
            state = sentinel.sentinel_master(SERVICE)
        done = "failover_in_progress" not in state["flags"]
        healthy = not state["is_sdown"] and not state["is_odown"]
        return done and healthy and int(state["port"]) == self.replica.port

    def _described(self) -> str:
        """What the servers and the sentinel say of themselves, for a failure message."""
        with self.sentinel_client() as sentinel:
            seen = (sentinel.sentinel_master(SERVICE), sentinel.sentinel_slaves(SERVICE))
        servers = (_replication(self.primary), _replication(self.replica))
        return f"servers: {servers}; sentinel: {seen}"

    def primary_port(self) -> int:
        """The port of the server the sentinel names primary now."""
        with self.sentinel_client() as sentinel:
            _, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    def wait_replicated(self) -> None:
        """Until the replica holds every write the primary acknowledged."""
        def caught_up() -> bool:
            offset = _replication(self.primary)["master_repl_offset"]
            slaves = _replication(self.primary).get("slave0")
            return isinstance(slaves, dict) and slaves.get("offset") == offset

        wait_until(caught_up, "the replica holds every write of the primary")

    def fail_over(self) -> None:
        """Have the sentinel promote the replica (the primary is down, or not), and wait until
        it names the replica and the replica takes writes. The sentinel may have begun on its
        own (the primary down for longer than ``down-after-milliseconds``): that is waited for
        too."""

        def started() -> bool:
            with self.sentinel_client() as sentinel:
                try:
                    sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
                except redis.exceptions.ResponseError as refused:
                    return "INPROG" in str(refused) or self.primary_port() == self.replica.port
            return True

        wait_until(started, "the sentinel began a failover")

        def promoted() -> bool:
            is_primary = _replication(self.replica).get("role") == "master"
            return is_primary and self._switched()

        wait_until(promoted, "the sentinel promoted the replica", state=self._described)

    def recover(self) -> None:
        """After a failover: the old primary started again (its port, its files) as a replica
        of the new one (the sentinel would make it one, but only some eight seconds after it
        saw it), in sync and seen by the sentinel; then the two swap names."""
        old = self.primary
        if old.process is None or old.process.poll() is not None:
            old.options = ("--replicaof", "127.0.0.1", str(self.replica.port), *_AT_ONCE)
            old.start()
        else:  # a planned switchover: still a primary until the sentinel notices, later
            with old.client() as raw:
                raw.replicaof("127.0.0.1", self.replica.port)

        def following() -> bool:
            state = _replication(old)
            with self.sentinel_client() as sentinel:
                flags = [replica["flags"] for replica in sentinel.sentinel_slaves(SERVICE)]
            linked = state.get("role") == "slave" and state.get("master_link_status") == "up"
            return linked and flags == ["slave"] and self._switched()

        wait_until(following, "the old primary follows the new one", state=self._described)
        self.primary, self.replica = self.replica, old

    def stop(self) -> None:
        if self.sentinel is not None and self.sentinel.poll() is None:
            self.sentinel.terminate()
            self.sentinel.communicate(timeout=10)
        self.replica.stop()
        self.primary.stop()


class RedisCluster:
    """Three primaries (no replicas) sharing the 16,384 slots, joined by ``redis-cli``."""

    def __init__(self, folder: Path, size: int = 3) -> None:
        self.nodes: list[RedisServer] = []
        for number in range(size):
            (folder / f"n{number}").mkdir()
            options = ("--cluster-enabled", "yes", "--cluster-node-timeout", "5000")
            # The bus port is the node's port + 10,000 unless given: past 65,535 for many ports.
            options += ("--cluster-port", str(free_port()))
            self.nodes.append(RedisServer(folder / f"n{number}", options=options).start())
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli is not installed (it comes with redis-server's package)")
        create = [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0"]
        subprocess.run([*create, "--cluster-yes"], check=True, capture_output=True, timeout=60)
        wait_until(self._served, "every node serves every slot")

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[:2])

    def _served(self) -> bool:
        for node in self.nodes:
            with node.client() as raw:
                info = raw.execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text or "cluster_slots_ok:16384" not in text:
                return False
        return True

    def node_of(self, key: str) -> int:
        """Which node (its index) holds ``key``'s slot."""
        with self.nodes[0].client() as raw:
            slot = int(raw.execute_command("CLUSTER", "KEYSLOT", key))
            shards = raw.execute_command("CLUSTER", "SLOTS")
        for first, last, primary, *_ in shards:
            if first <= slot <= last:
                port = int(primary[1])
                return [node.port for node in self.nodes].index(port)
        raise AssertionError(f"no node serves slot {slot}")

    def move_slot(self, key: str, to: int) -> None:
        """Move ``key``'s slot, and the keys in it, to node ``to``, as a resharding does
        (``CLUSTER SETSLOT … IMPORTING/MIGRATING``, ``MIGRATE``, then ``SETSLOT … NODE``)."""
        source, target = self.nodes[self.node_of(key)], self.nodes[to]
        with source.client() as src, target.client() as dst:
            slot = int(src.execute_command("CLUSTER", "KEYSLOT", key))
            source_id, target_id = (c.execute_command("CLUSTER", "MYID") for c in (src, dst))
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
        for node in self.nodes:
            with node.client() as raw:
                raw.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        wait_until(lambda: self.node_of(key) == to, "every node serves the slot from its new node")

    def keys_by_node(self, pattern: str) -> list[list[str]]:
        """The keys matching ``pattern``, on each node."""
        found: list[list[str]] = []
        for node in self.nodes:
            with node.client() as raw:
                found.append(sorted(key.decode() for key in raw.scan_iter(match=pattern)))
        return found

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
