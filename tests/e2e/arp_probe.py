#!/usr/bin/env python3
"""ARP on the lab's LAN, for the L2 announcements test.

  arp_probe.py capture OUT        in the LAN namespace: every ARP reply seen on
                                  any of its ports (every node's and the
                                  client's) as "seq sender-MAC" lines to OUT,
                                  until killed
  arp_probe.py ask DEV IP SECS    in the client namespace: asks who has IP every
                                  50 ms for SECS seconds, each request numbered
                                  in its padding (an eBPF responder answers in
                                  place, so the reply carries the number back)
  arp_probe.py check OUT          at most one answer per request; prints
                                  "requests answered, MACs seen"; exit 1 when a
                                  request was answered by two MACs
"""
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806
ETH_P_ALL = 0x0003
MAGIC = b"AXONARP"


def mac_of(dev):
    with open(f"/sys/class/net/{dev}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def capture(out):
    # Not bound, and every protocol (a tap before the bridge takes the
    # frame): every interface of the namespace, so a reply is seen on the
    # port it came in on whatever the bridge does with it.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    with open(out, "w", buffering=1) as f:
        while True:
            frame, addr = s.recvfrom(2048)
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 42:
                continue
            if struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP or struct.unpack("!H", frame[20:22])[0] != 2:
                continue  # replies only
            pad = frame[42:]
            if not pad.startswith(MAGIC) or len(pad) < len(MAGIC) + 4:
                continue
            seq = struct.unpack("!I", pad[len(MAGIC):len(MAGIC) + 4])[0]
            f.write(f"{seq} {frame[22:28].hex(':')} {addr[0]}\n")


def ask(dev, ip, secs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    s.bind((dev, 0))
    mine = mac_of(dev)
    me = socket.inet_aton("10.0.0.100")
    target = socket.inet_aton(ip)
    seq = 0
    until = time.time() + secs
    while time.time() < until:
        seq += 1
        frame = (b"\xff" * 6 + mine + struct.pack("!H", ETH_P_ARP) +
                 struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mine + me + b"\0" * 6 + target +
                 MAGIC + struct.pack("!I", seq))
        s.send(frame.ljust(60, b"\0"))
        time.sleep(0.05)
    print(seq)


def check(out):
    answers = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                answers.setdefault(int(parts[0]), set()).add(parts[1])
    macs = set().union(*answers.values()) if answers else set()
    twice = sorted(seq for seq, m in answers.items() if len(m) > 1)
    print(f"{len(answers)} requests answered, {len(macs)} MACs seen: {' '.join(sorted(macs))}")
    if twice:
        print(f"answered by two MACs: requests {twice[:10]}")
        return 1
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "capture":
        capture(sys.argv[2])
    elif cmd == "ask":
        ask(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "check":
        sys.exit(check(sys.argv[2]))
