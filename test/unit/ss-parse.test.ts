import { describe, expect, it } from "vitest";
import { parseLsof } from "../../src/inspect/lsof";
import { parseSs, parseSsAddress } from "../../src/inspect/ss";

// Captured from `ss -ltnpHe` (iproute2 6.1, Debian 12) with node listeners on 127.0.0.1, ::1, 0.0.0.0 and ::,
// plus systemd-resolved's stub, forked workers sharing one socket, and a socket whose process is invisible.
const SS_E = `LISTEN 0      511    127.0.0.1:22990 0.0.0.0:* users:(("node",pid=5494,fd=19)) ino:9980 sk:1005 cgroup:/ <->
LISTEN 0      511      0.0.0.0:22992 0.0.0.0:* users:(("node",pid=5494,fd=21)) ino:9982 sk:1006 cgroup:/ <->
LISTEN 0      128      0.0.0.0:2024  0.0.0.0:* ino:46 sk:1 cgroup:/ <->
LISTEN 0      511            *:22993       *:* users:(("node",pid=5494,fd=22)) ino:9983 sk:1007 cgroup:/ v6only:0 <->
LISTEN 0      511        [::1]:22991    [::]:* users:(("node",pid=5494,fd=20)) ino:9981 sk:1008 cgroup:/ v6only:1 <->
LISTEN 0      4096 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=612,fd=14)) uid:101 ino:20311 sk:3 cgroup:/system.slice/systemd-resolved.service <->
LISTEN 0      511         [::]:8080     [::]:* users:(("node",pid=123,fd=20),("node",pid=124,fd=20)) uid:1000 ino:5555 sk:9 v6only:1 <->
LISTEN 0      128 [fe80::1]%eth0:2222   [::]:* users:(("sshd",pid=700,fd=3)) ino:777 sk:a v6only:1 <->
LISTEN 0      5      127.0.0.1:9000 0.0.0.0:* users:(("my "odd",app",pid=42,fd=7)) uid:1000 ino:4242 sk:b <->
`;

// Plain `ss -ltnpH` (no -e): no inode, no uid; a header line as older ss versions print without -H.
const SS_PLAIN = `State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process
LISTEN 0      511    127.0.0.1:8001 0.0.0.0:* users:(("python3",pid=9001,fd=3))
LISTEN 0      511            *:8002       *:*
LISTEN 0      128         [::]:8080     [::]:* users:(("node",pid=123,fd=20),("node",pid=124,fd=20))
`;

describe("parseSsAddress", () => {
  it.each([
    ["127.0.0.1:22", { address: "127.0.0.1", port: 22, family: 4 }],
    ["0.0.0.0:80", { address: "0.0.0.0", port: 80, family: 4 }],
    ["[::1]:8080", { address: "::1", port: 8080, family: 6 }],
    ["[::]:8080", { address: "::", port: 8080, family: 6 }],
    ["*:8080", { address: "::", port: 8080, family: 6, star: true }],
    ["127.0.0.53%lo:53", { address: "127.0.0.53", port: 53, family: 4, interface: "lo" }],
    ["[fe80::1]%eth0:22", { address: "fe80::1", port: 22, family: 6, interface: "eth0" }],
    ["[fe80::1%eth0]:22", { address: "fe80::1", port: 22, family: 6, interface: "eth0" }],
    [":::22", { address: "::", port: 22, family: 6 }],
    ["[::ffff:127.0.0.1]:22", { address: "::ffff:127.0.0.1", port: 22, family: 6 }],
  ])("%s", (token, expected) => {
    expect(parseSsAddress(token)).toMatchObject(expected);
  });
  it.each(["0.0.0.0:*", "*:*", "[::]:*", "511", "LISTEN"])("%s is not a local address", (token) => {
    expect(parseSsAddress(token)).toBeUndefined();
  });
});

describe("parseSs", () => {
  const sockets = parseSs(SS_E);
  const at = (port: number) => sockets.find((s) => s.port === port)!;

  it("reads every LISTEN line", () => {
    expect(sockets.map((s) => s.port)).toEqual([22990, 22992, 2024, 22993, 22991, 53, 8080, 2222, 9000]);
  });
  it("IPv4 loopback and wildcard, uid 0 when -e prints none", () => {
    expect(at(22990)).toEqual({
      address: "127.0.0.1",
      port: 22990,
      family: 4,
      interface: undefined,
      inode: 9980,
      uid: 0,
      holders: [{ pid: 5494, name: "node", fd: 19 }],
    });
    expect(at(22992)).toMatchObject({ address: "0.0.0.0", family: 4, inode: 9982 });
  });
  it("`*` is the dual-stack IPv6 wildcard, [::] with v6only:1 is not", () => {
    expect(at(22993)).toMatchObject({ address: "::", family: 6, dualStack: true, inode: 9983 });
    expect(at(8080)).toMatchObject({ address: "::", family: 6, dualStack: false, uid: 1000 });
  });
  it("IPv6 loopback in brackets", () => {
    expect(at(22991)).toMatchObject({ address: "::1", family: 6, holders: [{ pid: 5494, name: "node", fd: 20 }] });
    expect(at(22991).dualStack).toBeUndefined();
  });
  it("a socket shared by forked workers lists every holder", () => {
    expect(at(8080).holders).toEqual([
      { pid: 123, name: "node", fd: 20 },
      { pid: 124, name: "node", fd: 20 },
    ]);
  });
  it("interface-scoped addresses keep the interface apart", () => {
    expect(at(53)).toMatchObject({
      address: "127.0.0.53",
      interface: "lo",
      uid: 101,
      holders: [{ pid: 612, name: "systemd-resolve" }],
    });
    expect(at(2222)).toMatchObject({ address: "fe80::1", interface: "eth0", family: 6 });
  });
  it("a socket without users:(…) (other user, other namespace) still has inode and uid", () => {
    expect(at(2024)).toMatchObject({ holders: [], inode: 46, uid: 0 });
  });
  it("a process name containing quotes and commas", () => {
    expect(at(9000).holders).toEqual([{ pid: 42, name: 'my "odd",app', fd: 7 }]);
  });
  it("without -e: no inode and no uid guessed; header skipped", () => {
    const plain = parseSs(SS_PLAIN);
    expect(plain.map((s) => [s.address, s.port, s.family, s.holders.map((h) => h.pid)])).toEqual([
      ["127.0.0.1", 8001, 4, [9001]],
      ["::", 8002, 6, []],
      ["::", 8080, 6, [123, 124]],
    ]);
    expect(plain[0].uid).toBeUndefined();
    expect(plain[1].dualStack).toBe(true);
  });
  it("empty output → no sockets", () => {
    expect(parseSs("")).toEqual([]);
  });
});

// Captured from `lsof -nP -iTCP -sTCP:LISTEN -F pcuLftn` (lsof 4.95, Linux) and a macOS-style run where one
// master and one worker share the socket.
const LSOF = `p5494
cnode
u0
Lroot
f19
tIPv4
n127.0.0.1:22990
f20
tIPv6
n[::1]:22991
f21
tIPv4
n*:22992
f22
tIPv6
n*:22993
p801
cPython
u501
Lalice
f5
tIPv6
n*:8080
p802
cPython
u501
Lalice
f5
tIPv6
n*:8080
`;

describe("parseLsof", () => {
  const sockets = parseLsof(LSOF);
  it("maps `*` by type to 0.0.0.0 or ::", () => {
    expect(sockets.map((s) => [s.address, s.port, s.family])).toEqual([
      ["127.0.0.1", 22990, 4],
      ["::1", 22991, 6],
      ["0.0.0.0", 22992, 4],
      ["::", 22993, 6],
      ["::", 8080, 6],
    ]);
  });
  it("merges processes sharing one socket and keeps uid", () => {
    const shared = sockets.find((s) => s.port === 8080)!;
    expect(shared.holders).toEqual([
      { pid: 801, name: "Python", fd: 5 },
      { pid: 802, name: "Python", fd: 5 },
    ]);
    expect(shared.uid).toBe(501);
  });
});
