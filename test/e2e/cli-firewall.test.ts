/**
 * `install --firewall` through the BUILT CLI, applied only inside network namespaces this test creates and deletes
 * (`orch-edge2-srv-N` and `orch-edge2-cli-N`, a veth pair with 10.251.N.1 / 10.251.N.2 on those ends only): without
 * --yes it prints the ruleset and the ufw commands and applies nothing; with --yes --netns the table appears in the
 * server namespace only, a public port is reachable from the client and a loopback one is dropped. The machine's
 * own ruleset is compared before and after. Needs root, iproute2 and nftables (says so when skipped).
 * Ports: block "cli-firewall" (test/helpers/ports.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORT_BLOCKS } from "../helpers/ports";
import { createProject, ensureBuilt, FIXTURES, show, type TestProject } from "../helpers/project";

const IP = "/usr/sbin/ip";
const NFT = "/usr/sbin/nft";
const tag = `${process.pid % 10000}`;
const SRV = `orch-edge2-srv-${tag}`;
const CLI = `orch-edge2-cli-${tag}`;
const net = `10.251.${process.pid % 250}`;
const SERVER = `${net}.1`;
const CLIENT = `${net}.2`;
const base = PORT_BLOCKS["cli-firewall"].low;
const PORTS = { public: base, loopback: base + 1 };

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

/** Connects from inside `ns`: "open", "refused" or "timeout" (dropped). */
function probe(ns: string, host: string, port: number): string {
  const js = `const s=require("net").connect({host:${JSON.stringify(host)},port:${port}});
s.setTimeout(1500,()=>{console.log("timeout");process.exit(0)});
s.on("connect",()=>{console.log("open");process.exit(0)});
s.on("error",(e)=>{console.log(e.code==="ECONNREFUSED"?"refused":e.code);process.exit(0)});`;
  const r = spawnSync(IP, ["netns", "exec", ns, process.execPath, "-e", js], { encoding: "utf8", timeout: 10_000 });
  return r.stdout.trim() || r.stderr.trim();
}

const hostRuleset = () => spawnSync(NFT, ["list", "ruleset"], { encoding: "utf8" }).stdout;
const table = (ns: string) =>
  spawnSync(IP, ["netns", "exec", ns, NFT, "list", "table", "inet", "orchestrate_edge2_fw"], { encoding: "utf8" });

describe.skipIf(why !== undefined)(`install --firewall in network namespaces${why ? ` (skipped: ${why})` : ""}`, () => {
  const children: ChildProcess[] = [];
  let project: TestProject;
  let before: string;

  beforeAll(async () => {
    ensureBuilt();
    before = hostRuleset();
    ip("netns", "add", SRV);
    ip("netns", "add", CLI);
    ip("link", "add", `oeb${tag}s`, "netns", SRV, "type", "veth", "peer", "name", `oeb${tag}c`, "netns", CLI);
    ip("-n", SRV, "addr", "add", `${SERVER}/30`, "dev", `oeb${tag}s`);
    ip("-n", CLI, "addr", "add", `${CLIENT}/30`, "dev", `oeb${tag}c`);
    for (const [ns, dev] of [
      [SRV, `oeb${tag}s`],
      [CLI, `oeb${tag}c`],
    ]) {
      ip("-n", ns, "link", "set", dev, "up");
      ip("-n", ns, "link", "set", "lo", "up");
    }
    // both on 0.0.0.0 inside the server namespace: the loopback one is the misconfiguration the firewall contains
    for (const port of Object.values(PORTS))
      children.push(
        spawn(IP, ["netns", "exec", SRV, process.execPath, join(FIXTURES, "echo-http.js")], {
          env: { PATH: "/usr/bin:/bin", PORT: String(port), HOST: "0.0.0.0", SERVICE_NAME: `p${port}` },
          detached: true,
          stdio: "ignore",
        }),
      );
    for (const port of Object.values(PORTS)) {
      let state = "";
      for (let i = 0; i < 200 && state !== "open"; i++) state = probe(SRV, "127.0.0.1", port);
      expect(state, `listener on ${port} in ${SRV}`).toBe("open");
    }
    project = createProject("edge2fw", {
      project: "edge2-fw",
      host: "127.0.0.1",
      services: {
        pub: { port: PORTS.public, command: "node p.js", exposure: "public" },
        local: { port: PORTS.loopback, command: "node l.js" },
      },
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const ns of [SRV, CLI]) spawnSync(IP, ["netns", "del", ns]);
    await project?.cleanup();
  });

  it("without --yes: prints the ruleset and the ufw commands, applies nothing", async () => {
    expect(probe(CLI, SERVER, PORTS.loopback)).toBe("open"); // no firewall yet
    const r = await project.cli(["install", "--firewall", "--netns", SRV]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`would apply .*firewall\\.nft to network namespace ${SRV}`));
    expect(r.stdout).toMatch(/table inet orchestrate_edge2_fw/);
    expect(r.stdout).toMatch(/apply it with: orchestrate install --firewall --yes/);
    expect(r.stdout).toMatch(/ufw allow 22\/tcp/);
    expect(r.stdout).toMatch(new RegExp(`ufw allow ${PORTS.public}/tcp`));
    expect(r.stdout).toMatch(new RegExp(`ufw deny ${PORTS.loopback}/tcp`));
    expect(table(SRV).status).not.toBe(0);
    expect(probe(CLI, SERVER, PORTS.loopback)).toBe("open");
  });

  it("--yes --netns: the table exists in that namespace only; public reachable, loopback dropped", async () => {
    const r = await project.cli(["install", "--firewall", "--yes", "--netns", SRV]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`applied .* to network namespace ${SRV}`));
    expect(table(SRV).stdout).toMatch(/table inet orchestrate_edge2_fw/);
    expect(table(CLI).status).not.toBe(0);
    expect(probe(CLI, SERVER, PORTS.public)).toBe("open");
    expect(probe(CLI, SERVER, PORTS.loopback)).toBe("timeout");
    // applied twice: the table is replaced as a whole, not duplicated
    expect((await project.cli(["install", "--firewall", "--yes", "--netns", SRV])).exitCode).toBe(0);
    expect(table(SRV).stdout.match(/table inet orchestrate_edge2_fw/g)).toHaveLength(1);
    expect(hostRuleset()).toBe(before);
  });

  it("--yes without --firewall is bad input (exit 2)", async () => {
    const r = await project.cli(["install", "--yes"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toMatch(/--yes and --netns go with --firewall/);
  });
});
