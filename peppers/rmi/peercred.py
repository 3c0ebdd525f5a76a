"""Who is on the other end of the monitor socket, and may they attach?

The socket file is mode 0600 in a run directory, which already keeps other
users out on a local file system. The server checks again on every
connection, because file modes do not protect a socket everywhere (some
file systems ignore them, and an operator may loosen the folder): it reads
the peer's credentials from the kernel (``SO_PEERCRED``: pid, uid, gid of
the connecting process, which the peer cannot forge) and admits the
connection only if the uid is the run's owner, or if the HKV key
``rmi.group`` names a group and the peer belongs to it (primary gid or
supplementary membership).
"""

from __future__ import annotations

import grp
import pwd
import socket
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class PeerCredentials:
    """Kernel-reported identity of a socket peer."""

    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials:
    """The ``SO_PEERCRED`` credentials of the process connected to ``sock``."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return PeerCredentials(*struct.unpack("3i", raw))


def authorize(peer: PeerCredentials, owner_uid: int, group: str | None = None) -> str | None:
    """Why ``peer`` may not attach, or None if it may.

    Parameters
    ----------
    peer : PeerCredentials
        The connecting process.
    owner_uid : int
        The uid that owns the run (the server's effective uid).
    group : str, optional
        A group whose members may attach too (HKV ``rmi.group``).

    Returns
    -------
    str or None
        A one-line refusal naming the uid and the rule, or None when admitted.
    """
    if peer.uid == owner_uid:
        return None
    if group:
        try:
            entry = grp.getgrnam(group)
        except KeyError:
            return (f"uid {peer.uid} is not the run's owner (uid {owner_uid}) and group "
                    f"{group!r} (rmi.group) does not exist")
        if peer.gid == entry.gr_gid or _user_name(peer.uid) in entry.gr_mem:
            return None
        return (f"uid {peer.uid} is neither the run's owner (uid {owner_uid}) nor a member "
                f"of group {group!r} (rmi.group)")
    return (f"uid {peer.uid} is not the run's owner (uid {owner_uid}); set rmi.group to "
            "let a group attach")


def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None
