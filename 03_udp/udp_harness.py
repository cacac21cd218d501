"""UDP helpers for step 03's tests (candidates for testing/sbs_harness.py once a later step
needs them too). Every socket gets a timeout, so no test can wait forever for a datagram."""

import socket

from sbs_harness import TIMEOUT, split_address


def udp_socket(address: str, timeout: float = TIMEOUT):
    """An unconnected UDP socket of the right family for a server's printed address, and the
    (host, port) to sendto()."""
    family, target = split_address(address)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    return sock, target


def ask(address: str, datagram: bytes) -> bytes:
    """Sends one datagram to `address` and returns the first datagram that comes back."""
    sock, target = udp_socket(address)
    with sock:
        sock.sendto(datagram, target)
        reply, sender = sock.recvfrom(65535)
        assert sender[:2] == target, f"the reply came from {sender}, not from {target}"
        return reply


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago (nobody is bound to it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def upper_ascii(data: bytes) -> bytes:
    """What the server answers: ASCII letters uppercased, every other byte unchanged."""
    return bytes(b - 32 if 97 <= b <= 122 else b for b in data)


def replies(stdout: bytes) -> list:
    """Our client's replies: its stdout without the narration lines."""
    return [line for line in stdout.splitlines() if not line.startswith(b"client: ")]
