/**
 * Golden files for the port artifacts (ports.json, ports.env, port_config.py, PORTS.md) of the hostile
 * project rooted at /srv/demo. `UPDATE_GOLDEN=1 npx vitest run test/golden/artifacts.test.ts` rewrites
 * them (review the diff before committing). The Python module is also run for real in
 * test/e2e/port-config-py.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors";
import { renderPortArtifacts } from "../../src/render/ports/artifacts";
import { portVariable, renderPortsEnv } from "../../src/render/ports/ports-env";
import { portsJson } from "../../src/render/ports/ports-json";
import { mdCell, renderPortsMd } from "../../src/render/ports/ports-md";
import { pyString } from "../../src/render/ports/port-config-py";
import { makeModel } from "../helpers/model";
import { artifactsModel, HOSTILE } from "./artifacts/model";

const GOLDEN_DIR = join(__dirname, "artifacts");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

describe("port artifact golden files", () => {
  const files = renderPortArtifacts(artifactsModel());

  it("renders the four files under units/, mode 0644", () => {
    expect(files.map((f) => f.path)).toEqual([
      "units/ports.json",
      "units/ports.env",
      "units/port_config.py",
      "units/PORTS.md",
    ]);
    expect(files.every((f) => f.mode === 0o644)).toBe(true);
  });

  it.each(files.map((f) => [basename(f.path), f.content]))("%s matches its golden file", (name, content) => {
    const golden = join(GOLDEN_DIR, name);
    if (UPDATE) writeFileSync(golden, content);
    expect(content).toBe(readFileSync(golden, "utf8"));
  });

  it("is deterministic", () => {
    expect(renderPortArtifacts(artifactsModel())).toEqual(files);
  });
});

describe("ports.json", () => {
  it("round-trips every manifest string exactly and keeps manifest order", () => {
    const doc = JSON.parse(renderPortArtifacts(artifactsModel())[0].content);
    expect(Object.keys(doc)).toEqual(["$comment", "project", "host", "services", "external", "reserved", "avoid"]);
    expect(Object.keys(doc.services)).toEqual(artifactsModel().services.map((s) => s.name));
    expect(doc.services.trade_executor).toEqual({
      port: 8001,
      url: "http://127.0.0.1:8001",
      group: "core",
      enabled: true,
    });
    expect(doc.services.cleanup).toEqual({ port: null, url: null, group: "watchdog", enabled: true });
    expect(doc.services.adhoc.group).toBeNull();
    expect(doc.external["redis cache|x"]).toEqual({ port: 6379, host: "10.0.0.5" });
    expect(doc.reserved).toEqual({ "8004": 'keep for "x" | y\\z', "8083": "last free port: critical service only" });
    expect(doc.avoid).toEqual([5000, 7000, 9000]);
  });

  it("brackets an IPv6 host in URLs and keeps an external named __proto__ as a key", () => {
    const m = makeModel("/srv/demo", [{ name: "a", port: 8001, argv: ["x"] }], {
      host: "::1",
      external: [{ name: "__proto__", port: 1, description: "", exposure: "loopback" }],
    });
    const doc = JSON.parse(JSON.stringify(portsJson(m)));
    expect(doc.services.a.url).toBe("http://[::1]:8001");
    expect(Object.keys(doc.external)).toEqual(["__proto__"]);
  });
});

describe("ports.env", () => {
  it.each([
    ["trade_executor", "TRADE_EXECUTOR_PORT"],
    ["trade-manager", "TRADE_MANAGER_PORT"],
    ["db.poller", "DB_POLLER_PORT"],
    ["redis cache|x", "REDIS_CACHE_X_PORT"],
    ["9gag", "_9GAG_PORT"],
    ["café", "CAF__PORT"],
  ])("%s → %s", (name, variable) => {
    expect(portVariable(name)).toBe(variable);
  });

  it("refuses two names that map to one variable, naming both", () => {
    const m = makeModel("/srv/demo", [
      { name: "trade-executor", port: 8001, argv: ["x"] },
      { name: "trade_executor", port: 8002, argv: ["x"] },
    ]);
    expect(() => renderPortsEnv(m)).toThrow(UsageError);
    expect(() => renderPortsEnv(m)).toThrow(
      'service "trade-executor" and service "trade_executor" both map to TRADE_EXECUTOR_PORT',
    );
  });

  it("refuses a service and an external that collide", () => {
    const m = makeModel("/srv/demo", [{ name: "postgres", port: 8001, argv: ["x"] }], {
      external: [{ name: "Postgres", port: 5432, description: "", exposure: "loopback" }],
    });
    expect(() => renderPortsEnv(m)).toThrow('service "postgres" and external "Postgres" both map to POSTGRES_PORT');
  });

  it("does not let workers claim a variable", () => {
    const m = makeModel("/srv/demo", [
      { name: "a-b", argv: ["x"] },
      { name: "a_b", port: 8001, argv: ["x"] },
    ]);
    expect(renderPortsEnv(m).content).toContain("A_B_PORT=8001\n");
  });

  it("refuses a host that would need quoting", () => {
    const m = makeModel("/srv/demo", [], { host: "my host;rm" });
    expect(() => renderPortsEnv(m)).toThrow(
      /host "my host;rm" cannot be written to units\/ports.env: expected a hostname or IP address/,
    );
  });

  it("has only comments, blank lines and KEY=digits-or-safe-host lines", () => {
    for (const line of renderPortsEnv(artifactsModel()).content.split("\n")) {
      expect(line).toMatch(/^(#.*|[A-Z_][A-Z0-9_]*=[A-Za-z0-9._:%[\]-]+|)$/);
    }
  });
});

describe("PORTS.md", () => {
  it.each([
    ["a|b", "a\\|b"],
    ["line1\nline2\r\nline3", "line1<br>line2<br>line3"],
    ["back\\slash", "back\\\\slash"],
    ["<script>", "\\<script>"],
    ["`code`", "\\`code\\`"],
    ["  padded  ", "padded"],
    ["tab\there", "tab here"],
    ["nul\u0000 lone\ud800 pair🚀", "nul\uFFFD lone\uFFFD pair🚀"],
  ])("escapes %j as %j", (input, expected) => {
    expect(mdCell(input)).toBe(expected);
  });

  it("keeps every table row at five cells whatever the description", () => {
    const rows = renderPortsMd(artifactsModel())
      .content.split("\n")
      .filter((l) => l.startsWith("| ") && !l.startsWith("| Name") && !l.startsWith("| Port"));
    for (const line of rows.filter((l) => !l.includes("postgres") && !l.includes("redis") && !/^\| \d+ \|/.test(l))) {
      expect(line.replace(/\\\\/g, "").split(/(?<!\\)\|/).length - 2).toBe(5);
    }
  });

  it("lists the process groups only when the manifest has some", () => {
    const model = artifactsModel();
    expect(renderPortsMd(model).content).not.toContain("## Process groups");
    const names = model.services.slice(0, 2).map((s) => s.name);
    const md = renderPortsMd({ ...model, processGroups: [{ name: "front", services: names }] }).content;
    expect(md).toMatch(
      new RegExp(
        `## Process groups\\n\\n.*\\n\\n\\| Name +\\| Services +\\|\\n.*\\n\\| front +\\| ${names.join(", ")} +\\|\\n$`,
      ),
    );
  });

  it("gives each group its ranges and budget line", () => {
    const md = renderPortsMd(artifactsModel()).content;
    expect(md).toContain("Ranges: 3000-4000, 8001-8009 · used 4 / free 1004 / total 1010 — next free 3001");
    expect(md).toMatch(/Ranges: 8002-8100 · used 2 \/ free \d+ \/ total 99 — next free 8005/);
  });
});

describe("pyString", () => {
  it("escapes what Python needs and keeps readable unicode", () => {
    expect(pyString(HOSTILE.slice(0, 12))).toBe('"He said \\"hi\\""');
    expect(pyString("a\\b\n\t\u0000\u2028é🚀\ud800")).toBe('"a\\\\b\\n\\t\\x00\\u2028é🚀\\ud800"');
  });
});
