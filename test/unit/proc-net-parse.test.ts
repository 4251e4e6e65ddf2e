import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  attachHolders,
  hexToIPv4,
  hexToIPv6,
  parseProcNetTcp,
  readListeningSection,
  readProcListeners,
} from "../../src/inspect/proc-net";
import { parseStat } from "../../src/inspect/processes";

// Captured from /proc/net/tcp and /proc/net/tcp6 (Linux 6.x) with node listeners on 127.0.0.1:22990,
// 0.0.0.0:22992, [::]:22993 and [::1]:22991; an ESTABLISHED row and a systemd-resolved row (uid 101) added.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:59CE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9734 1 000000000c7df8a8 100 0 0 10 0
   1: 00000000:59D0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9736 1 00000000713565cc 100 0 0 10 0
   2: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 20311 1 0000000065cd1ede 100 0 0 10 0
   3: 0100007F:59CE 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 9999 1 0000000065cd1ede 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:59D1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9737 1 0000000045aa08e7 100 0 0 10 0
   1: 00000000000000000000000001000000:59CF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 9735 1 00000000b75d9c76 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4001 1 00000000b75d9c76 100 0 0 10 0
`;

describe("hex addresses", () => {
  it.each([
    ["0100007F", "127.0.0.1"],
    ["00000000", "0.0.0.0"],
    ["3500007F", "127.0.0.53"],
    ["0100A8C0", "192.168.0.1"],
  ])("IPv4 %s → %s", (hex, ip) => expect(hexToIPv4(hex)).toBe(ip));

  it.each([
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000000001000000", "::1"],
    ["0000000000000000FFFF00000100007F", "::ffff:127.0.0.1"],
    ["000080FE000000000000000001000000", "fe80::1"],
    ["B80D0120000000000000000005000000", "2001:db8::5"],
    // expected strings from glibc inet_ntop (Python socket.inet_ntop), which ss uses
    ["B80D0120000001000000000000000000", "2001:db8:1::"],
    ["B80D0120000000000000010000000000", "2001:db8:0:0:1::"],
    ["B80D0120010000000100000000000000", "2001:db8:0:1:0:1::"],
    ["00000100020000000000000003000000", "1:0:0:2::3"],
    ["0000000000000000000000000100007F", "::127.0.0.1"],
    ["02000100040003000600050008000700", "1:2:3:4:5:6:7:8"],
    ["00000100030002000500040007000600", "1:0:2:3:4:5:6:7"],
  ])("IPv6 %s → %s", (hex, ip) => expect(hexToIPv6(hex)).toBe(ip));
});

describe("parseProcNetTcp", () => {
  it("keeps LISTEN rows of tcp with uid and inode", () => {
    expect(parseProcNetTcp(TCP, 4)).toEqual([
      { address: "127.0.0.1", port: 22990, family: 4, uid: 0, inode: 9734, holders: [] },
      { address: "0.0.0.0", port: 22992, family: 4, uid: 0, inode: 9736, holders: [] },
      { address: "127.0.0.53", port: 53, family: 4, uid: 101, inode: 20311, holders: [] },
    ]);
  });
  it("reads tcp6 wildcard, loopback and v4-mapped", () => {
    expect(parseProcNetTcp(TCP6, 6).map((s) => [s.address, s.port, s.uid, s.inode])).toEqual([
      ["::", 22993, 0, 9737],
      ["::1", 22991, 1000, 9735],
      ["::ffff:127.0.0.1", 8080, 0, 4001],
    ]);
  });
  it("empty or header-only input → nothing", () => {
    expect(parseProcNetTcp("", 4)).toEqual([]);
    expect(parseProcNetTcp(TCP.split("\n")[0], 4)).toEqual([]);
  });
});

describe("inode → holders from a fake /proc", () => {
  const root = mkdtempSync(join(tmpdir(), "orchestrate-procnet-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const proc = (pid: number, fds: Record<string, string>) => {
    mkdirSync(join(root, String(pid), "fd"), { recursive: true });
    for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(root, String(pid), "fd", fd));
  };
  mkdirSync(join(root, "net"));
  writeFileSync(join(root, "net", "tcp"), TCP);
  writeFileSync(join(root, "net", "tcp6"), TCP6);
  proc(100, { "0": "/dev/null", "3": "socket:[9734]", "4": "pipe:[5]" });
  proc(200, { "20": "socket:[9737]" });
  proc(201, { "20": "socket:[9737]", "21": "socket:[123456]" });
  mkdirSync(join(root, "self"));

  it("maps each listening inode to every process holding it", () => {
    const { sockets } = readProcListeners(root);
    const holders = Object.fromEntries(
      sockets.map((s) => [`${s.address}:${s.port}`, s.holders.map((h) => `${h.pid}/${h.fd}`)]),
    );
    expect(holders).toEqual({
      "127.0.0.1:22990": ["100/3"],
      "0.0.0.0:22992": [],
      "127.0.0.53:53": [],
      ":::22993": ["200/20", "201/20"],
      "::1:22991": [],
      "::ffff:127.0.0.1:8080": [],
    });
  });
  it("counts fd folders it could not read", () => {
    mkdirSync(join(root, "300"));
    expect(attachHolders(parseProcNetTcp(TCP, 4), root)).toBe(1);
  });
});

describe("parseStat", () => {
  it("survives a comm with spaces and parentheses", () => {
    const stat =
      "4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10 18446744073709551615";
    expect(parseStat(stat)).toEqual({
      comm: "my (odd) app",
      state: "S",
      ppid: 1,
      pgid: 4242,
      sid: 4242,
      startTime: 123456,
    });
  });
});

describe("readListeningSection: the listening hash only", () => {
  const dir = mkdtempSync(join(tmpdir(), "o-procsec-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const [header, ...rows] = TCP.trimEnd().split("\n");
  const row = (sl: number, port: number, state: string, inode: number) =>
    `${String(sl).padStart(4)}: 0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 000000000c7df8a8 100 0 0 10 0`;

  it("stops at the first row of the established hash; a LISTEN row printed after it is not read", () => {
    const file = join(dir, "tcp-stop");
    writeFileSync(file, [header, ...rows.slice(0, 3), rows[3], row(4, 40000, "0A", 7777)].join("\n") + "\n");
    const listening = parseProcNetTcp(readListeningSection(file), 4);
    expect(listening.map((s) => s.inode)).toEqual([9734, 9736, 20311]);
  });

  it("reads past SYN_RECV rows (kernels before 4.4 list open requests inside the listening hash)", () => {
    const file = join(dir, "tcp-synrecv");
    writeFileSync(file, [header, rows[0], row(1, 40001, "03", 5), row(2, 40002, "0A", 6), rows[3]].join("\n") + "\n");
    expect(parseProcNetTcp(readListeningSection(file), 4).map((s) => s.inode)).toEqual([9734, 6]);
  });

  it("joins rows cut by the 16 KiB reads: 1000 LISTEN rows, then 1000 TIME_WAIT rows", () => {
    const file = join(dir, "tcp-big");
    const listen = Array.from({ length: 1000 }, (_, i) => row(i, 30000 + i, "0A", 100000 + i));
    const timeWait = Array.from({ length: 1000 }, (_, i) => row(1000 + i, 50000 + (i % 1000), "06", 0));
    writeFileSync(file, [header, ...listen, ...timeWait].join("\n") + "\n");
    const text = readListeningSection(file);
    expect(text.length).toBeLessThan(readFileSync(file, "utf8").length / 2 + 16 * 1024);
    const found = parseProcNetTcp(text, 4);
    expect(found).toHaveLength(1000);
    expect(found.map((s) => s.port)).toEqual(listen.map((_, i) => 30000 + i));
  });

  it("an empty table is the header alone; a missing file throws (no IPv6)", () => {
    const file = join(dir, "tcp-empty");
    writeFileSync(file, header + "\n");
    expect(parseProcNetTcp(readListeningSection(file), 4)).toEqual([]);
    expect(() => readListeningSection(join(dir, "absent"))).toThrow(/ENOENT/);
  });

  it("the real /proc/net/tcp with TIME_WAIT sockets: the same LISTEN rows as the whole file", async () => {
    const servers: Server[] = [];
    const listenOn = (port = 0) =>
      new Promise<Server>((resolve) => {
        const s = createServer((c) => c.end()).listen(port, "127.0.0.1", () => resolve(s));
        servers.push(s);
      });
    try {
      const srv = await listenOn();
      const port = (srv.address() as { port: number }).port;
      for (let i = 0; i < 200; i++)
        await new Promise<void>((resolve) => {
          const c = connect(port, "127.0.0.1", () => c.end());
          c.on("close", () => resolve());
          c.on("error", () => resolve());
        });
      const inodes = (text: string) =>
        parseProcNetTcp(text, 4)
          .map((s) => s.inode)
          .sort()
          .join();
      // other test files open and close listeners meanwhile: the two reads agree on some of 10 attempts
      let agreed = false;
      let sawTimeWait = false;
      for (let attempt = 0; attempt < 10 && !agreed; attempt++) {
        const section = readListeningSection("/proc/net/tcp");
        const whole = readFileSync("/proc/net/tcp", "utf8");
        sawTimeWait ||= whole.split("\n").some((l) => l.trim().split(/\s+/)[3] === "06");
        agreed = inodes(section) === inodes(whole);
      }
      expect(sawTimeWait).toBe(true); // the established hash was not empty
      expect(agreed).toBe(true);
      expect(parseProcNetTcp(readListeningSection("/proc/net/tcp"), 4).some((s) => s.port === port)).toBe(true);
    } finally {
      servers.forEach((s) => s.close());
    }
  });
});
