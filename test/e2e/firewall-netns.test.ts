/**
 * The generated nftables ruleset for real, inside two network namespaces this test creates and deletes: a "server"
 * and a "client" joined by a veth pair (10.250.N.1 and 10.250.N.2/.3 on a /29, on those veth ends only). Services
 * listen on 0.0.0.0 inside the server namespace; the client connects from a listed internal source (.2) and from
 * an unlisted one (.3). The machine's own firewall is never touched (its ruleset is compared before and after).
 * Needs root, iproute2 and nftables; says so visibly when skipped. Ports: block "firewall-netns".
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRuleset, checkRuleset, listTable } from "../../src/backend/firewall/nft";
import type { Model } from "../../src/model/types";
import { firewallTable, renderNftables } from "../../src/render/edge/firewall";
import { modelOf } from "../golden/edge/model";
import { PORT_BLOCKS } from "../helpers/ports";
import { FIXTURES } from "../helpers/project";

const IP = "/usr/sbin/ip";
const NFT = "/usr/sbin/nft";
const tag = `${process.pid % 10000}`;
const SRV = `orch-edge-srv-${tag}`;
const CLI = `orch-edge-cli-${tag}`;
const net = `10.250.${process.pid % 250}`;
const SERVER = `${net}.1`;
const LISTED = `${net}.2`;
const UNLISTED = `${net}.3`;
const base = PORT_BLOCKS["firewall-netns"].low;
const PORTS = { public: base, internal: base + 1, loopback: base + 2, redis: base + 3, proxy: base + 4 };

const why = (() => {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, nft)";
  if (spawnSync(IP, ["netns", "list"]).status !== 0) return "ip netns is not available";
  if (spawnSync(NFT, ["--version"]).status !== 0) return "nft is not installed";
  return undefined;
})();

function ip(...args: string[]): void {
  const r = spawnSync(IP, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/** Connects from inside `ns` (from `from` when given): "open", "refused" or "timeout" (dropped). */
function probe(ns: string, host: string, port: number, from?: string): string {
  const js = `const s=require("net").connect({host:${JSON.stringify(host)},port:${port}${from ? `,localAddress:${JSON.stringify(from)}` : ""}});
s.setTimeout(1500,()=>{console.log("timeout");process.exit(0)});
s.on("connect",()=>{console.log("open");process.exit(0)});
s.on("error",(e)=>{console.log(e.code==="ECONNREFUSED"?"refused":e.code);process.exit(0)});`;
  const r = spawnSync(IP, ["netns", "exec", ns, process.execPath, "-e", js], { encoding: "utf8", timeout: 10_000 });
  return r.stdout.trim() || r.stderr.trim();
}

const hostRuleset = () => spawnSync(NFT, ["list", "ruleset"], { encoding: "utf8" }).stdout;

describe("firewall ruleset in network namespaces", () => {
  const children: ChildProcess[] = [];
  let dir: string;
  let model: Model;
  let before: string;

  beforeAll(async () => {
    if (why) return;
    before = hostRuleset();
    dir = mkdtempSync(join(tmpdir(), "orch-edge-fw-"));
    ip("netns", "add", SRV);
    ip("netns", "add", CLI);
    ip("link", "add", `oe${tag}s`, "netns", SRV, "type", "veth", "peer", "name", `oe${tag}c`, "netns", CLI);
    ip("-n", SRV, "addr", "add", `${SERVER}/29`, "dev", `oe${tag}s`);
    ip("-n", CLI, "addr", "add", `${LISTED}/29`, "dev", `oe${tag}c`);
    ip("-n", CLI, "addr", "add", `${UNLISTED}/29`, "dev", `oe${tag}c`);
    for (const [ns, dev] of [
      [SRV, `oe${tag}s`],
      [CLI, `oe${tag}c`],
    ]) {
      ip("-n", ns, "link", "set", dev, "up");
      ip("-n", ns, "link", "set", "lo", "up");
    }
    // every listener on 0.0.0.0 (the loopback one too: the misconfiguration the firewall must contain), and one on 22
    for (const port of [...Object.values(PORTS), 22]) {
      const child = spawn(IP, ["netns", "exec", SRV, process.execPath, join(FIXTURES, "echo-http.js")], {
        env: { PATH: "/usr/bin:/bin", PORT: String(port), HOST: "0.0.0.0", SERVICE_NAME: `p${port}` },
        detached: true,
        stdio: "ignore",
      });
      children.push(child);
    }
    for (const port of [...Object.values(PORTS), 22]) {
      let state = "";
      for (let i = 0; i < 200 && state !== "open"; i++) state = probe(SRV, "127.0.0.1", port);
      expect(state, `listener on ${port} in ${SRV}`).toBe("open");
    }
    model = modelOf(
      {
        project: "edge-fw",
        ports: { internalSources: [`${LISTED}/32`] },
        external: { redis: { port: PORTS.redis }, sshd: { port: 22 } },
        proxy: { listen: PORTS.proxy },
        services: {
          pub: { port: PORTS.public, command: "node p.js", exposure: "public" },
          metrics: { port: PORTS.internal, command: "node m.js", exposure: "internal" },
          api: { port: PORTS.loopback, command: "node a.js", routes: ["/api/"] },
        },
      },
      dir,
    );
  }, 60_000);

  afterAll(() => {
    for (const c of children) {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    if (why) return;
    for (const ns of [SRV, CLI]) spawnSync(IP, ["netns", "del", ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("filters by exposure: public open, internal only from ports.internalSources, loopback from this host only", async (ctx) => {
    if (why) ctx.skip(`firewall test skipped: ${why}`);
    // before: everything answers from the client (so the assertions below can fail)
    for (const port of Object.values(PORTS))
      expect(probe(CLI, SERVER, port, UNLISTED), `port ${port} before`).toBe("open");
    const file = join(dir, "firewall.nft");
    writeFileSync(file, renderNftables(model));
    expect(await checkRuleset(file)).toEqual({ ok: true, message: "" });
    await expect(applyRuleset(file, { confirm: false, netns: SRV })).rejects.toThrow(/only when asked/);
    await applyRuleset(file, { confirm: true, netns: SRV });
    await applyRuleset(file, { confirm: true, netns: SRV }); // replaces its table as a whole: applies twice
    expect(await listTable(firewallTable(model), SRV)).toMatch(/tcp dport 22 accept/);

    expect(probe(CLI, SERVER, PORTS.public, UNLISTED)).toBe("open");
    expect(probe(CLI, SERVER, PORTS.proxy, UNLISTED)).toBe("open");
    expect(probe(CLI, SERVER, PORTS.internal, LISTED)).toBe("open");
    expect(probe(CLI, SERVER, PORTS.internal, UNLISTED)).toBe("timeout");
    expect(probe(CLI, SERVER, PORTS.loopback, LISTED)).toBe("timeout");
    expect(probe(CLI, SERVER, PORTS.redis, LISTED)).toBe("timeout");
    expect(probe(CLI, SERVER, 22, UNLISTED), "SSH is never locked out, even declared loopback").toBe("open");
    // inside the server namespace, loopback still answers
    expect(probe(SRV, "127.0.0.1", PORTS.loopback)).toBe("open");
    expect(probe(SRV, "127.0.0.1", PORTS.redis)).toBe("open");
  });

  it("never touched the machine's own ruleset", (ctx) => {
    if (why) ctx.skip(`firewall test skipped: ${why}`);
    expect(hostRuleset()).toBe(before);
    expect(hostRuleset()).not.toContain(firewallTable(model));
  });
});
