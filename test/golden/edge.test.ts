/**
 * Golden files of the edge renderers (nginx configuration, nftables ruleset, ufw commands) for the model of
 * ./edge/model.ts rooted at /srv/demo. `UPDATE_GOLDEN=1 npx vitest run test/golden/edge.test.ts` rewrites them;
 * review the diff. The same models are checked by nginx -t (test/e2e/nginx-proxy.test.ts) and nft -c -f (here and
 * test/e2e/firewall-netns.test.ts).
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors";
import { renderAll } from "../../src/render";
import { renderFirewall, ufwCommands } from "../../src/render/edge/firewall";
import { renderNginx } from "../../src/render/edge/nginx";
import { publicSurface, routeUrls } from "../../src/model/surface";
import { edgeModel, modelOf, edgeManifest } from "./edge/model";

const GOLDEN = join(__dirname, "edge");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

function compare(name: string, content: string) {
  const golden = join(GOLDEN, name);
  if (UPDATE) {
    mkdirSync(dirname(golden), { recursive: true });
    writeFileSync(golden, content);
  }
  expect(existsSync(golden), `${golden} is missing: run UPDATE_GOLDEN=1 npx vitest run test/golden/edge.test.ts`).toBe(
    true,
  );
  expect(content).toBe(readFileSync(golden, "utf8"));
}

const plain = [...renderNginx(edgeModel("/srv/demo")), ...renderFirewall(edgeModel("/srv/demo"))];
const tls = renderNginx(edgeModel("/srv/demo", true))
  .filter((f) => f.path === "units/nginx/server.conf") // the TLS variant differs in its servers only
  .map((f) => ({ ...f, path: "tls/server.conf" }));

describe("edge golden files", () => {
  it("renders one upstream per routed, enabled service and one locations file per server it is routed on", () => {
    expect(plain.map((f) => f.path)).toEqual([
      "units/nginx/locations/admin.conf",
      "units/nginx/locations/admin@admin.example.test.conf",
      "units/nginx/locations/users.conf",
      "units/nginx/locations/users2.conf",
      "units/nginx/locations/ws.conf",
      "units/nginx/nginx.conf",
      "units/nginx/server.conf",
      "units/nginx/upstreams/admin.conf",
      "units/nginx/upstreams/users.conf",
      "units/nginx/upstreams/users2.conf",
      "units/nginx/upstreams/ws.conf",
      "units/firewall.nft",
    ]);
  });

  it.each([...plain, ...tls].map((f) => [f.path, f] as const))("%s matches its golden file", (path, file) => {
    compare(path, file.content);
  });

  it("ufw commands match their golden file", () => {
    compare("ufw.txt", ufwCommands(edgeModel("/srv/demo")).join("\n") + "\n");
  });

  it("has no stale golden files", () => {
    const present = readdirSync(GOLDEN, { recursive: true, encoding: "utf8" })
      .filter((f) => statSync(join(GOLDEN, f)).isFile() && f !== "model.ts")
      .sort();
    expect(present).toEqual([...plain.map((f) => f.path), ...tls.map((f) => f.path), "ufw.txt"].sort());
  });

  it("renderAll includes the edge files only when the manifest asks", () => {
    const all = renderAll(edgeModel("/srv/demo")).map((f) => f.path);
    expect(all).toContain("units/nginx/nginx.conf");
    expect(all).toContain("units/firewall.nft");
    const raw = edgeManifest() as any;
    delete raw.proxy;
    delete raw.ports;
    for (const s of Object.values(raw.services) as any[]) (delete s.routes, delete s.exposure);
    for (const e of Object.values(raw.external) as any[]) delete e.exposure;
    const none = renderAll(modelOf(raw, "/srv/demo")).map((f) => f.path);
    expect(none.filter((p) => p.startsWith("units/nginx/") || p === "units/firewall.nft")).toEqual([]);
  });

  it("marks an instance that is not ready down, and keeps the others", () => {
    const files = renderNginx(edgeModel("/srv/demo"), { readyPorts: new Set([8001, 8003, 8004]) });
    const up = (n: string) => files.find((f) => f.path === `units/nginx/upstreams/${n}.conf`)!.content;
    expect(up("users")).toContain("server 127.0.0.1:8001 max_fails=1 fail_timeout=1s;");
    expect(up("users2")).toContain("server 127.0.0.1:8002 down;");
    expect(up("users2")).not.toContain("max_fails");
  });

  it("quotes paths exactly and refuses what nginx cannot hold", () => {
    const odd = renderNginx(edgeModel('/srv/a "b" \\c ☃'));
    const main = odd.find((f) => f.path === "units/nginx/nginx.conf")!.content;
    expect(main).toContain('pid "/srv/a \\"b\\" \\\\c ☃/run/nginx/nginx.pid";');
    expect(() => renderNginx(edgeModel("/srv/$HOME"))).toThrow(UsageError);
    expect(() => renderNginx(edgeModel("/srv/$HOME"))).toThrow(/nginx reads as a variable/);
  });

  it("the public surface is the public ports and the internal ones with their sources", () => {
    const s = publicSurface(edgeModel("/srv/demo"));
    expect(s.public.map((p) => [p.port, p.owner.kind, p.owner.name])).toEqual([
      [8006, "service", "pub"],
      [8080, "proxy", "proxy"],
    ]);
    expect(s.public[1].routes).toContain("admin.example.test/ → admin");
    expect(s.internal.map((p) => [p.port, p.owner.name, p.from.length])).toEqual([
      [5432, "postgres", 3],
      [8005, "metrics", 3],
    ]);
  });

  it("gives each route its URL through the proxy and the Host it is routed by", () => {
    expect(routeUrls(edgeModel("/srv/demo")).map((r) => [r.service, r.url, r.hostHeader])).toEqual([
      ["users", "http://example.test:8080/api/users/", "example.test"],
      ["users", "http://example.test:8080/api/v1/users/", "example.test"],
      ["users2", "http://example.test:8080/api/v2/users/", "example.test"],
      ["admin", "http://admin.example.test:8080/", "admin.example.test"],
      ["admin", "http://example.test:8080/admin/", "example.test"],
      ["ws", "http://example.test:8080/ws/", "example.test"],
    ]);
    expect(routeUrls(edgeModel("/srv/demo", true))[0].url).toBe("https://example.test:8443/api/users/");
  });

  it("nft -c -f accepts the golden ruleset (needs root)", (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip("nft -c -f needs root (CAP_NET_ADMIN): run the suite as root");
    const dir = mkdtempSync(join(tmpdir(), "orch-edge-nft-"));
    try {
      const file = join(dir, "firewall.nft");
      writeFileSync(file, plain.find((f) => f.path === "units/firewall.nft")!.content);
      const r = spawnSync("/usr/sbin/nft", ["-c", "-f", file], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      writeFileSync(file, "table inet x {\n\tchain input {\n\t\ttcp dport 70000 drop\n\t}\n}\n");
      expect(spawnSync("/usr/sbin/nft", ["-c", "-f", file]).status, "nft -c must refuse a broken file").not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
