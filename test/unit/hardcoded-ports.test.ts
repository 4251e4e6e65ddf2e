import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { findHardcodedPorts, type LintFinding } from "../../src/lint/hardcoded-ports";
import { formatLintFinding, formatLintSummary } from "../../src/lint/format";
import { collectSourceFiles } from "../../src/lint/scan-files";

// The REC.IO fleet's ports (manifest.json at the repository root).
const managed = new Map<number, string>([
  [3000, "main_app"],
  [4000, "trade_manager"],
  [8001, "trade_executor"],
  [8002, "btc_price_watchdog"],
  [8003, "db_poller"],
  [8004, "kalshi_account_sync"],
  [8005, "kalshi_market_watchdog"],
  [8007, "active_trade_supervisor"],
  [8009, "auto_entry_supervisor"],
  [8010, "unified_production_coordinator"],
  [8011, "strike_table_generator"],
]);

type Expected = "none" | [reason: LintFinding["reason"], port: number, service?: string][];

/** [file name (its extension picks the language), code line, expected findings]. */
const rows: [string, string, Expected][] = [
  // Seed 002, step 3 and rule 1: the WRONG and CORRECT examples.
  ["api.py", 'uvicorn.run(app, host="0.0.0.0", port=8007)', [["managed-port", 8007, "active_trade_supervisor"]]],
  ["api.py", 'uvicorn.run(app, host="0.0.0.0", port=SERVICE_PORT)', "none"],
  ["api.py", 'SERVICE_PORT = get_port("NEW_SERVICE_NAME")', "none"],
  ["api.py", 'print(f"[SERVICE_NAME] Using centralized port: {SERVICE_PORT}")', "none"],
  // Seed 002, the DEFAULT_PORTS fallback dict and get_port's silent fallback.
  ["port_config.py", '    "NEW_SERVICE_NAME": 8007  # <- ADD HERE FIRST', [["managed-port", 8007]]],
  ["port_config.py", '    "main_app": 3000,', [["managed-port", 3000, "main_app"]]],
  ["port_config.py", "        return DEFAULT_PORTS.get(service_name, 3000)", [["managed-port", 3000]]],
  ["port_config.py", '    "EXISTING_SERVICE": 8008,  # <- Updated port', "none"],
  ["config.py", '      "port": 8008,  # changed from 8007', [["port-literal", 8008]]],
  // Seed 000: uvicorn command lines, URLs, lsof.
  ["deploy.sh", "/root/venv/bin/python -m uvicorn app:app --host 0.0.0.0 --port 8082", [["port-literal", 8082]]],
  ["check.sh", "curl http://203.0.113.10:8082/api/v1/backtest/health", [["port-literal", 8082]]],
  ["check.sh", "lsof -i :8007", [["managed-port", 8007]]],
  ["check.sh", "lsof -i :8099", [["port-literal", 8099]]],
  [
    "restart.sh",
    "PORTS=(3000 4000 8001)",
    [
      ["managed-port", 3000],
      ["managed-port", 4000],
      ["managed-port", 8001],
    ],
  ],
  ["restart.sh", 'export PORT="${PORT:-8080}"', [["port-literal", 8080]]],
  ["restart.sh", 'echo "pids: $# ${#PIDS[@]}"', "none"],
  // Python: servers, sockets, environment fallbacks.
  ["srv.py", 'sock.bind(("0.0.0.0", 8000))', [["port-literal", 8000]]],
  ["srv.py", "sock.bind(('', 8000))", [["port-literal", 8000]]],
  ["srv.py", 'HTTPServer(("", 8000), Handler).serve_forever()', [["port-literal", 8000]]],
  ["srv.py", "sock.listen(100)", "none"],
  ["srv.py", "PORT = 8080", [["port-literal", 8080]]],
  ["srv.py", "port_number: int = 8000", [["port-literal", 8000]]],
  ["srv.py", "self.port = 8000", [["port-literal", 8000]]],
  ["srv.py", 'port = int(os.environ.get("PORT", 8007))', [["managed-port", 8007]]],
  ["srv.py", 'port = int(os.environ.get("PORT", "8099"))', [["port-literal", 8099]]],
  ["srv.py", 'port = int(os.environ["PORT"])', "none"],
  ["srv.py", 'URL = "http://localhost:8001/trades"', [["managed-port", 8001, "trade_executor"]]],
  ["srv.py", 'REDIS = "redis://cache.internal:6380/0"', [["port-literal", 6380]]],
  ["srv.py", 'app.run(host="0.0.0.0", port=80)', [["port-literal", 80]]],
  ["srv.py", "time.sleep(3000)", "none"],
  ["srv.py", "MAX_RETRIES = 4000", "none"],
  ["srv.py", 'python_version = "3.11.8001"', "none"],
  ["srv.py", 'HOST = "192.168.86.42"', "none"],
  ["srv.py", "amount = 1.8001", "none"],
  ["srv.py", "x = data[1:3000]", [["managed-port", 3000]]],
  ["srv.py", "x = data[1:3999]", "none"],
  ["srv.py", '    """Runs on port 8007 unless told otherwise."""', [["managed-port", 8007]]],
  ["srv.py", "# listens on port 8007", "none"],
  ["srv.py", "uvicorn.run(app, port=8007)  # orchestrate: allow-port", "none"],
  ["srv.py", "report = 12345", "none"],
  ["srv.py", "port_count = 16", "none"],
  ["srv.py", "PORT_TIMEOUT = 8099", "none"],
  ["srv.py", "num_ports = 20", "none"],
  ["srv.py", "for port in range(8090, 8099):", "none"],
  ["srv.py", "PORT_RANGE = [8090, 8099]", [["port-literal", 8090]]],
  ["srv.py", "port = 70000", "none"],
  // JavaScript / TypeScript.
  ["app.js", "app.listen(3000, () => console.log('up'))", [["managed-port", 3000]]],
  ["app.js", "server.listen(8099)", [["port-literal", 8099]]],
  ["app.js", 'server.listen(8099, "127.0.0.1")', [["port-literal", 8099]]],
  ["app.js", "server.listen({ port: 8099, host })", [["port-literal", 8099]]],
  ["app.js", "const port = Number(process.env.PORT) || 8099;", [["port-literal", 8099]]],
  ["app.ts", "const port = process.env.PORT ?? 3000;", [["managed-port", 3000]]],
  ["app.js", "const port = parseInt(process.env.PORT, 10);", "none"],
  ["app.js", "server.listen(process.env.PORT)", "none"],
  ["app.js", "setTimeout(poll, 3000);", "none"],
  ["app.ts", "const deadline = performance.now() + 3000;", "none"],
  ["app.ts", "const text = await backend.tailLog(name, stream, 4000);", "none"],
  ["app.js", "const options = { timeout: 8001 };", "none"],
  ["app.js", "fetch(`http://127.0.0.1:${port}/health`)", "none"],
  ["app.js", "fetch(`http://127.0.0.1:8099/health`)", [["port-literal", 8099]]],
  ["app.js", "const url = `http://${host}:8099/x`;", [["port-literal", 8099]]],
  ["srv.py", 'url = f"http://{host}:8099/x"', [["port-literal", 8099]]],
  ["srv.py", 'args = ["--port", "8099"]', [["port-literal", 8099]]],
  ["srv.py", 'addr = host + ":8099"', [["port-literal", 8099]]],
  ["srv.py", 'when = {"at": "12:30"}', "none"],
  ["app.js", 'const color = "#3000ff"; const w = "3000px";', "none"],
  ["app.js", "// trade_manager runs on 4000", "none"],
  ["app.js", "const x = 1; /* port 4000 */ const y = 2;", "none"],
  // Go.
  ["main.go", 'log.Fatal(http.ListenAndServe(":8080", nil))', [["port-literal", 8080]]],
  ["main.go", 'ln, err := net.Listen("tcp", ":8002")', [["managed-port", 8002, "btc_price_watchdog"]]],
];

describe("findHardcodedPorts", () => {
  it.each(rows)("%s: %s", (file, line, expected) => {
    const findings = findHardcodedPorts([{ path: file, text: line }], managed);
    const got = findings.map((f) => [f.reason, f.port, f.service]);
    if (expected === "none") {
      expect(got).toEqual([]);
      return;
    }
    expect(got).toEqual(expected.map(([reason, port, service]) => [reason, port, service ?? managed.get(port)]));
    for (const f of findings) {
      expect(f).toMatchObject({ file, line: 1, text: line.trim() });
      expect(line.slice(f.column - 1, f.column - 1 + String(f.port).length)).toBe(String(f.port));
    }
  });

  it("gives file, line and column across a multi-line file, skipping comments and block comments", () => {
    const lines = ["import os", "/* not here:", "   port=8080 */", "PORT = 8099  // fallback 8007", ""];
    const js = findHardcodedPorts([{ path: "a.js", text: lines.join("\n") }], managed);
    expect(js.map((f) => [f.line, f.column, f.port])).toEqual([[4, 8, 8099]]);
    // As Python, /* */ is code and // is not a comment, but # is.
    lines[3] = "PORT = 8099  # fallback 8007";
    const py = findHardcodedPorts([{ path: "a.py", text: lines.join("\n") }], managed);
    expect(py.map((f) => [f.line, f.column, f.port])).toEqual([
      [3, 9, 8080],
      [4, 8, 8099],
    ]);
  });

  it("reports ports in comments only with { comments: true }, marked inComment", () => {
    const text = "# trade_executor listens on 8001\nx = 1\n";
    expect(findHardcodedPorts([{ path: "a.py", text }], managed)).toEqual([]);
    const found = findHardcodedPorts([{ path: "a.py", text }], managed, { comments: true });
    expect(found).toMatchObject([{ line: 1, port: 8001, service: "trade_executor", inComment: true }]);
  });

  it("keeps multi-line strings as code: a triple-quoted Python string and a template literal", () => {
    const py = 'doc = """\nconnect to localhost:8099\n"""\n';
    expect(findHardcodedPorts([{ path: "a.py", text: py }], managed).map((f) => f.line)).toEqual([2]);
    const js = "const u = `\n  http://localhost:8099/x\n`; // 8003\n";
    expect(findHardcodedPorts([{ path: "a.js", text: js }], managed).map((f) => [f.line, f.port])).toEqual([[2, 8099]]);
  });

  it("reads the language of an extensionless script from its #! line", () => {
    const text = "#!/usr/bin/env python3\n# port 8001 in a comment\nPORT = 8001\n";
    expect(findHardcodedPorts([{ path: "bin/serve", text }], managed).map((f) => f.line)).toEqual([3]);
  });

  it("skips files generated by orchestrate (units/port_config.py holds ports on purpose)", () => {
    const text = '# Generated by orchestrate from manifest.json; do not edit.\nPORTS = {"main_app": 3000}\n';
    expect(findHardcodedPorts([{ path: "port_config.py", text }], managed)).toEqual([]);
  });

  it("says what was found and how to fix it, in the file's language", () => {
    const [py] = findHardcodedPorts([{ path: "api.py", text: "uvicorn.run(app, port=8007)" }], managed);
    expect(py.message).toBe("8007 is the port of active_trade_supervisor in manifest.json, written into the code");
    expect(py.fix).toContain('int(os.environ["PORT"])');
    expect(py.fix).toContain('port_config.get_port("active_trade_supervisor")');
    expect(py.fix).toContain("orchestrate: allow-port");
    const [js] = findHardcodedPorts([{ path: "a.js", text: "app.listen(8099)" }], managed);
    expect(js.message).toBe("port number 8099 written in a listen() call");
    expect(js.fix).toContain("process.env.PORT");
    expect(js.fix).toContain('units/ports.json ("NAME")');
    const [sh] = findHardcodedPorts([{ path: "restart.sh", text: "lsof -i :8001" }], managed);
    expect(sh.fix).toBe(
      'read PORT from the environment: "$PORT" — or, for another service\'s port, $TRADE_EXECUTOR_PORT from units/ports.env; ' +
        'if 8001 is intended, add the comment "orchestrate: allow-port" to the line',
    );
    expect(formatLintFinding({ ...py, file: "backend/api.py" })).toBe(
      `backend/api.py:1:23: ${py.message}\n    uvicorn.run(app, port=8007)\n    fix: ${py.fix}`,
    );
    expect(formatLintSummary([], 3)).toBe("No hardcoded ports in 3 files.");
    expect(formatLintSummary([py, js], 5)).toMatch(/^2 hardcoded ports in 2 of 5 files/);
  });
});

describe("collectSourceFiles", () => {
  const make = (files: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), "orchestrate-lint-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  it("walks folders in sorted order, keeps source files, skips dependency, generated and log folders", () => {
    const root = make({
      "backend/b.py": "x = 1\n",
      "backend/a.js": "x\n",
      "backend/notes.md": "port 8007\n",
      "backend/.env": "PORT=8007\n",
      "backend/node_modules/dep/index.js": "listen(3000)\n",
      "backend/__pycache__/b.cpython-311.py": "\n",
      "venv/lib/site.py": "\n",
      "units/port_config.py": "\n",
      "logs/x.sh": "\n",
      "scripts/restart": "#!/bin/sh\nkill -9 $(lsof -t -i :8007)\n",
      "scripts/data": "no shebang\n",
    });
    try {
      const files = collectSourceFiles(["."], { cwd: root });
      expect(files.map((f) => f.path)).toEqual(["backend/a.js", "backend/b.py", "scripts/restart"]);
      expect(collectSourceFiles(["backend/"], { cwd: root }).map((f) => f.path)).toEqual([
        "backend/a.js",
        "backend/b.py",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads a file named explicitly whatever its extension, once; skips binary and oversized files", () => {
    const root = make({ "Procfile.txt": "web: app --port 8099\n", "blob.py": "a\0b", "big.py": "#".repeat(100) });
    try {
      const skipped: string[] = [];
      const onSkip = (path: string, reason: string) => skipped.push(`${path}: ${reason}`);
      const files = collectSourceFiles(["Procfile.txt", "Procfile.txt", "blob.py", "big.py"], {
        cwd: root,
        maxBytes: 50,
        onSkip,
      });
      expect(files).toEqual([{ path: "Procfile.txt", text: "web: app --port 8099\n" }]);
      expect(skipped).toEqual(["blob.py: binary", "big.py: too large (100 bytes > 50)"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses a path that does not exist, naming it (exit 2)", () => {
    expect(() => collectSourceFiles(["no/such/dir"], { cwd: tmpdir() })).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: "lint: expected a file or folder at no/such/dir, found nothing there",
      }),
    );
  });
});

describe("a managed URL in code (manifest v1.1 references)", () => {
  it("suggests passing {url:NAME} through the manifest, and get_service_url in Python", () => {
    const managed = new Map([[8001, "users_api"]]);
    const [py] = findHardcodedPorts([{ path: "a.py", text: 'USERS = "http://127.0.0.1:8001/v1"\n' }], managed);
    expect(py).toMatchObject({ port: 8001, reason: "managed-port", service: "users_api" });
    expect(py.message).toMatch(/as a URL/);
    expect(py.fix).toMatch(/"USERS_API_URL": "\{url:users_api\}"/);
    expect(py.fix).toMatch(/get_service_url\("users_api"\)/);
    const [js] = findHardcodedPorts([{ path: "a.js", text: 'fetch("http://localhost:8001/x")\n' }], managed);
    expect(js.fix).toMatch(/\{url:users_api\}/);
    expect(js.fix).not.toMatch(/get_service_url/);
    const [plain] = findHardcodedPorts([{ path: "a.js", text: "app.listen(8001)\n" }], managed);
    expect(plain.fix).not.toMatch(/\{url:/);
  });
});
