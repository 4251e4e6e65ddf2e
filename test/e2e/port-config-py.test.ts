/**
 * Runs the generated units/port_config.py with the system Python (/usr/bin/python3, `-B -W error` so an
 * invalid escape or any warning fails) and checks the seeds' API end to end: get_port, list_all_ports,
 * get_service_url, get_port_info, unknown names, workers, host overrides, the hostile strings, and both
 * import styles named in the module docstring.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { pyLiteral, renderPortConfigPy } from "../../src/render/ports/port-config-py";
import { renderPortsEnv } from "../../src/render/ports/ports-env";
import { artifactsModel, HOSTILE } from "../golden/artifacts/model";
import { v11Model } from "../golden/v11/manifest";

const PYTHON = "/usr/bin/python3";
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "orchestrate-port-config-"));
  mkdirSync(join(root, "units"));
  writeFileSync(join(root, "units", "port_config.py"), renderPortConfigPy(artifactsModel(root)).content);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs `code` after `import port_config as p` (units/ on PYTHONPATH) and parses the JSON it prints. */
async function py(code: string, extraEnv: Record<string, string> = {}): Promise<unknown> {
  const result = await run(PYTHON, ["-B", "-W", "error", "-c", `import json, port_config as p\n${code}`], {
    cwd: root,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", PYTHONPATH: join(root, "units"), ...extraEnv },
    timeoutMs: 20_000,
  });
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout);
}

/** Python that prints {type, lookup, message} of the exception `expr` raises. */
const raises = (expr: string) =>
  `try:\n    ${expr}\n    print(json.dumps(None))\nexcept Exception as e:\n    print(json.dumps({"type": type(e).__name__, "key": isinstance(e, KeyError), "lookup": isinstance(e, LookupError), "message": str(e)}))`;

describe("generated port_config.py under /usr/bin/python3", () => {
  it("get_port returns every service's and external's port", async () => {
    expect(
      await py(
        `print(json.dumps([p.get_port(n) for n in ["main_app", "trade_executor", "trade-manager", "old_poller", "db.poller", "adhoc", "postgres", "redis cache|x"]]))`,
      ),
    ).toEqual([3000, 8001, 4000, 8003, 8010, 9500, 5432, 6379]);
  });

  it("list_all_ports maps every service with a port, in manifest order, as a fresh dict", async () => {
    const ports = await py(`d = p.list_all_ports(); d["x"] = 1; print(json.dumps([list(p.list_all_ports().items())]))`);
    expect(ports).toEqual([
      [
        ["main_app", 3000],
        ["trade_executor", 8001],
        ["trade-manager", 4000],
        ["old_poller", 8003],
        ["btc_price_watchdog", 8002],
        ["db.poller", 8010],
        ["adhoc", 9500],
      ],
    ]);
  });

  it("get_service_url joins host, port and endpoint", async () => {
    expect(
      await py(
        `print(json.dumps([p.get_service_url("trade_executor"), p.get_service_url("trade_executor", "/health"), p.get_service_url("trade_executor", "health"), p.get_service_url("main_app", "?q=1"), p.get_service_url("redis cache|x")]))`,
      ),
    ).toEqual([
      "http://127.0.0.1:8001",
      "http://127.0.0.1:8001/health",
      "http://127.0.0.1:8001/health",
      "http://127.0.0.1:3000?q=1",
      "http://10.0.0.5:6379",
    ]);
  });

  it("get_port_info has the seeds' keys plus project and external", async () => {
    const info = (await py(`print(json.dumps(p.get_port_info()))`)) as Record<string, unknown>;
    expect(Object.keys(info)).toEqual(["ports", "service_urls", "config_file", "host", "project", "external"]);
    expect(info).toMatchObject({
      config_file: join(root, "manifest.json"),
      host: "127.0.0.1",
      project: "demo",
      external: { postgres: 5432, "redis cache|x": 6379 },
    });
    expect((info.service_urls as Record<string, string>).trade_executor).toBe("http://127.0.0.1:8001");
    expect(Object.keys(info.ports as object)).toHaveLength(7);
  });

  it("an unknown name raises a KeyError naming the closest names", async () => {
    expect(await py(raises(`p.get_port("trade_exector")`))).toEqual({
      type: "UnknownServiceError",
      key: true,
      lookup: true,
      message: "unknown service 'trade_exector' in project demo; did you mean 'trade_executor'?",
    });
    const far = (await py(raises(`p.get_service_url("zzzz")`))) as { message: string };
    expect(far.message).toBe(
      "unknown service 'zzzz' in project demo; known: adhoc, btc_price_watchdog, cleanup, db.poller, main_app, old_poller, trade-manager, trade_executor",
    );
  });

  it("a worker raises NoPortError, a LookupError but not a KeyError", async () => {
    const error = (await py(raises(`p.get_port("cleanup")`))) as Record<string, unknown>;
    expect(error).toMatchObject({ type: "NoPortError", key: false, lookup: true });
    expect(error.message).toContain("service 'cleanup' has no port: it is a worker");
    expect(await py(raises(`p.get_service_url("cleanup", "/x")`))).toMatchObject({ type: "NoPortError" });
  });

  it("carries every hostile string exactly", async () => {
    const info = (await py(
      `print(json.dumps([p.get_service_info("trade_executor"), p.get_service_info("cleanup"), p.EXTERNAL["postgres"]]))`,
    )) as Record<string, unknown>[];
    expect(info[0]).toEqual({ port: 8001, group: "core", enabled: true, technology: "python", description: HOSTILE });
    expect(info[1]).toMatchObject({ port: null, group: "watchdog" });
    expect(info[2]).toEqual({ port: 5432, host: null, description: 'Primary database "pg"' });
  });

  it("get_host honours ORCHESTRATE_HOST, then TRADING_SYSTEM_HOST, never HOST", async () => {
    const code = `print(json.dumps([p.get_host(), p.get_service_url("main_app"), p.get_port_info()["host"]]))`;
    expect(await py(code, { HOST: "myhost" })).toEqual(["127.0.0.1", "http://127.0.0.1:3000", "127.0.0.1"]);
    expect(await py(code, { TRADING_SYSTEM_HOST: "10.1.1.1" })).toEqual([
      "10.1.1.1",
      "http://10.1.1.1:3000",
      "10.1.1.1",
    ]);
    expect(await py(code, { TRADING_SYSTEM_HOST: "10.1.1.1", ORCHESTRATE_HOST: "::1" })).toEqual([
      "::1",
      "http://[::1]:3000",
      "::1",
    ]);
  });

  it("imports as units.port_config from the project folder (one changed import)", async () => {
    const result = await run(
      PYTHON,
      ["-B", "-W", "error", "-c", "from units.port_config import get_port\nprint(get_port('trade_executor'))"],
      {
        cwd: root,
        env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      },
    );
    expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toEqual({
      exitCode: 0,
      stdout: "8001\n",
      stderr: "",
    });
  });

  it("runs as a script: the port of NAME, or an error naming the closest name", async () => {
    const script = join(root, "units", "port_config.py");
    const env = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
    expect((await run(PYTHON, ["-B", script, "db.poller"], { env })).stdout).toBe("8010\n");
    const bad = await run(PYTHON, ["-B", script, "db_poller"], { env });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("did you mean 'db.poller'");
    const all = JSON.parse((await run(PYTHON, ["-B", script], { env })).stdout);
    expect(all.ports.trade_executor).toBe(8001);
  });
});

describe("Python string literals", () => {
  it("any UTF-16 string (lone surrogates included) reaches Python unchanged", async () => {
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.constantFrom(0x22, 0x27, 0x5c, 0x0a, 0x0d, 0x2028, 0xd800, 0xdc00),
    );
    const strings = fc.sample(
      fc.array(unit, { maxLength: 40 }).map((units) => String.fromCharCode(...units)),
      { numRuns: 300 },
    );
    strings.push('"""', "'''", "\\", "\\\n", "\ud83d\ude80", "\udc00\ud800", "");
    const file = join(root, "literals.py");
    writeFileSync(file, `import json\nVALUES = ${pyLiteral(strings)}\nprint(json.dumps(VALUES))\n`);
    const result = await run(PYTHON, ["-B", "-W", "error", file], { env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" } });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual(strings);
  });
});

describe("ports.env read by sh", () => {
  it("sourcing it sets exactly the variables it lists", async () => {
    const content = renderPortsEnv(artifactsModel(root)).content;
    writeFileSync(join(root, "units", "ports.env"), content);
    const result = await run("/bin/sh", ["-c", "set -a; . ./units/ports.env; env"], {
      cwd: root,
      env: { PATH: "/usr/bin:/bin" },
    });
    expect(result.stderr).toBe("");
    const seen = new Map(
      result.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    const listed = content
      .split("\n")
      .filter((l) => /^[A-Z_]/.test(l))
      .map((l) => l.split("="));
    expect(listed).toHaveLength(11);
    for (const [key, value] of listed) expect(seen.get(key)).toBe(value);
  });
});

describe("generated port_config.py of a manifest v1.1 with instances", () => {
  let v11Root: string;
  beforeAll(() => {
    v11Root = mkdtempSync(join(tmpdir(), "orchestrate-port-config-v11-"));
    mkdirSync(join(v11Root, "units"));
    writeFileSync(join(v11Root, "units", "port_config.py"), renderPortConfigPy(v11Model(v11Root)).content);
  });
  afterAll(() => rmSync(v11Root, { recursive: true, force: true }));

  it("get_port is instance 0, get_ports every instance; one instance and externals give [port]; a worker raises", async () => {
    const code = [
      "import json, port_config as p",
      "out = [p.get_port('users'), p.get_ports('users'), p.get_ports('pinned'), p.get_ports('pooled'), p.get_ports('gateway')]",
      "l = p.get_ports('users'); l.append(1)",
      "out.append(p.get_ports('users'))",
      "try:\n    p.get_ports('migrate')\nexcept LookupError as e:\n    out.append(type(e).__name__)",
      "try:\n    p.get_ports('userz')\nexcept KeyError as e:\n    out.append(str(e))",
      "print(json.dumps(out))",
    ].join("\n");
    const result = await run(PYTHON, ["-B", "-W", "error", "-c", code], {
      cwd: v11Root,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", PYTHONPATH: join(v11Root, "units") },
      timeoutMs: 20_000,
    });
    expect(result.stderr).toBe("");
    const out = JSON.parse(result.stdout);
    expect(out.slice(0, 6)).toEqual([22101, [22101, 22102], [22110, 22120], [22200, 22202], [22100], [22101, 22102]]);
    expect(out[6]).toBe("NoPortError");
    expect(out[7]).toMatch(/unknown service 'userz'.*did you mean 'users'/);
  });
});
