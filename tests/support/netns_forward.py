#!/usr/bin/env python3
"""Forward 127.0.0.1:PORT inside network namespace NETNS to HOST:TARGET_PORT
of the caller's namespace: how a test lets a process in a namespace it made
reach a server on the machine's loopback (a kube-apiserver) without adding
any address or route. The listening socket is made inside the namespace;
connections out are made from the caller's. Prints "ready" once listening;
runs until killed.

Usage: netns_forward.py NETNS PORT HOST:TARGET_PORT   (NETNS "-": the caller's own)
"""
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    netns, port, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    host, target_port = target.rsplit(":", 1)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    if netns != "-":
        setns(os.open("/run/netns/" + netns, os.O_RDONLY))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    setns(home)
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        try:
            out = socket.create_connection((host, int(target_port)))
        except OSError:
            conn.close()
            continue
        for a, b in ((conn, out), (out, conn)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
