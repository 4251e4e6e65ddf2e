/**
 * A full disk and a read-only units/, for real: each case runs the built CLI inside a private mount
 * namespace (`unshare --mount --propagation private`) on a small tmpfs filled to 4 KB free, or with units/
 * bind-mounted read-only. The machine's own disks are never filled. What the CLI left behind is copied out
 * of the namespace before it ends, and checked here: every file is the old one or the whole new one, the
 * exit code is 1 with "disk full" / "read-only" and the path, never 70.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { cliPath, FIXTURES, fixture } from "../helpers/cli-project";
import { portsOf } from "../helpers/ports";

const isRoot = process.getuid?.() === 0;
let out: string;
let ports: number[];

beforeAll(async () => {
  out = mkdtempSync("/tmp/orch-disk-");
  ports = await portsOf("safety-disk").takeMany(4);
  await cliPath();
});
afterAll(() => {
  if (!process.env.ORCHESTRATE_KEEP_TEST_DIRS) rmSync(out, { recursive: true, force: true });
});

function manifest(services: Record<string, unknown>): string {
  return JSON.stringify({ project: "disk", host: "127.0.0.1", services }, null, 2) + "\n";
}

/** Every file under `dir`, relative path → content. */
function tree(dir: string, rel = ""): Map<string, string> {
  const files = new Map<string, string>();
  let entries;
  try {
    entries = readdirSync(join(dir, rel), { withFileTypes: true });
  } catch {
    return files;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of tree(dir, r)) files.set(k, v);
    else files.set(r, readFileSync(join(dir, r), "utf8"));
  }
  return files;
}

/**
 * Runs `script` (sh) inside a private mount namespace with $P the project folder (a fresh tmpfs of
 * `sizeKb`), $CLI the orchestrate command and $OUT a folder outside the namespace. Helpers in the script:
 * `fill [KB]` leaves 4 KB (or KB) free on the tmpfs, `unfill` frees it again, `orch ARGS…` runs the CLI with its output
 * in $OUT/NAME.{rc,out,err} (NAME = $STEP).
 */
async function inNamespace(name: string, sizeKb: number, files: Record<string, string>, script: string) {
  const stage = mkdtempSync(join(out, `${name}-stage-`));
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(stage, rel), text);
  const dir = join(out, name);
  const cli = `${process.execPath} ${await cliPath()}`;
  const prelude = `
set -u
P=${out}/ns-${name}; OUT=${dir}; CLI="${cli}"
mkdir -p "$P" "$OUT"
mount -t tmpfs -o size=${sizeKb}k tmpfs "$P"
cp -a ${stage}/. "$P"/
fill() { head -c \$((\${1:-4} * 1024)) /dev/zero > "$P/.keep4k"; dd if=/dev/zero of="$P/.fill" bs=4096 2>/dev/null || true; rm -f "$P/.keep4k"; }
unfill() { rm -f "$P/.fill"; }
orch() { (cd "$P" && $CLI --no-color "$@" >"$OUT/$STEP.out" 2>"$OUT/$STEP.err"; echo $? >"$OUT/$STEP.rc"); }
snap() { rm -rf "$OUT/$1"; mkdir -p "$OUT/$1"; cp -a "$P/manifest.json" "$OUT/$1/"; [ -d "$P/units" ] && cp -a "$P/units" "$OUT/$1/"; ls -a "$P" "$P/units" > "$OUT/$1.ls" 2>&1; true; }
`;
  const r = await run("unshare", ["--mount", "--propagation", "private", "sh", "-c", prelude + script], {
    timeoutMs: 120_000,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  const step = (s: string) => ({
    rc: Number(readFileSync(join(dir, `${s}.rc`), "utf8")),
    stdout: readFileSync(join(dir, `${s}.out`), "utf8"),
    stderr: readFileSync(join(dir, `${s}.err`), "utf8"),
  });
  return { dir, step, tree: (s: string) => tree(join(dir, s)) };
}

/** Each file of `after` is the same as in `old` or in `fresh` (never torn); no temp files are left. */
function expectWhole(after: Map<string, string>, old: Map<string, string>, fresh: Map<string, string>) {
  for (const [path, text] of after) {
    expect(path, "a temp file was left behind").not.toMatch(/\.tmp$/);
    const same = text === old.get(path) || text === fresh.get(path);
    expect(same, `${path} is neither the old nor the new file (${text.length} bytes)`).toBe(true);
  }
}

describe.skipIf(!isRoot)("a full disk (tmpfs, 4 KB free, in a private mount namespace)", () => {
  it("generate leaves each file old or whole-new, exits 1 saying 'disk full' with the path", async () => {
    const services: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++)
      services[`svc${i}`] = fixture("binds-port.js", ports[0] + 100 + i, { description: "x".repeat(80) });
    const changed = Object.fromEntries(
      Object.entries(services).map(([k, v]) => [k, { ...(v as object), description: "y".repeat(90) }]),
    );
    const ns = await inNamespace(
      "gen",
      1024,
      { "manifest.json": manifest(services), "next.json": manifest(changed) },
      `
STEP=first; orch generate; snap old
cp "$P/next.json" "$P/manifest.json"
fill; STEP=full; orch generate; snap after
unfill; STEP=fresh; orch generate; snap fresh
`,
    );
    expect(ns.step("first").rc).toBe(0);
    const full = ns.step("full");
    expect(full.rc, full.stderr).toBe(1);
    expect(full.stderr).toMatch(/disk full: cannot write \/tmp\/orch-disk-\w+\/ns-gen\/units\/\S+ \(ENOSPC\)/);
    expect(full.stderr).not.toMatch(/internal error/);
    expect(ns.step("fresh").rc).toBe(0);
    expectWhole(ns.tree("after"), ns.tree("old"), ns.tree("fresh"));
    // port_config.py is importable Python whichever version it is
    const py = ns.tree("after").get("units/port_config.py")!;
    const compiled = await run(
      "/usr/bin/python3",
      ["-c", "import sys; compile(sys.stdin.read(), 'port_config.py', 'exec')"],
      {
        input: py,
      },
    );
    expect(compiled.exitCode, compiled.stderr).toBe(0);
  });

  it("add-service failing at units/ on a full disk restores manifest.json byte for byte and exits 1", async () => {
    const services = { api: fixture("binds-port.js", ports[0]) };
    const ns = await inNamespace(
      "add",
      1024,
      { "manifest.json": manifest(services) },
      `
STEP=first; orch generate; snap old
fill 12; STEP=add; orch add-service quotes --command "${process.execPath} ${join(FIXTURES, "binds-port.js")}" --port ${ports[1]} --no-start; snap after
`,
    );
    const add = ns.step("add");
    expect(add.rc, add.stdout + add.stderr).toBe(1);
    expect(add.stderr).not.toMatch(/internal error/);
    expect(add.stdout + add.stderr).toMatch(/disk full: cannot write \S+\/units\/\S+ \(ENOSPC\)/);
    expect(add.stderr).toMatch(/step 4 \(generate units\/\) failed: disk full/); // the manifest was written: the restore path ran
    expect(add.stderr).toMatch(/rolled back: manifest and units\/ restored byte for byte/);
    expect(ns.tree("after").get("manifest.json")).toBe(ns.tree("old").get("manifest.json"));
    expectWhole(ns.tree("after"), ns.tree("old"), new Map());
  });
});

describe.skipIf(!isRoot)("a read-only units/ (bind mount, in a private mount namespace)", () => {
  it("generate exits 1 saying 'read-only' with the path and changes nothing", async () => {
    const services = { api: fixture("binds-port.js", ports[2]) };
    const changed = { api: fixture("binds-port.js", ports[3]) };
    const ns = await inNamespace(
      "ro",
      4096,
      { "manifest.json": manifest(services), "next.json": manifest(changed) },
      `
STEP=first; orch generate; snap old
cp "$P/next.json" "$P/manifest.json"
mount --bind "$P/units" "$P/units" && mount -o remount,bind,ro "$P/units"
STEP=ro; orch generate; snap after
`,
    );
    const ro = ns.step("ro");
    expect(ro.rc, ro.stderr).toBe(1);
    expect(ro.stderr).toMatch(/read-only file system: cannot write \/tmp\/orch-disk-\w+\/ns-ro\/units\/\S+ \(EROFS\)/);
    const old = ns.tree("old");
    for (const [path, text] of ns.tree("after")) if (path !== "manifest.json") expect(text, path).toBe(old.get(path));
  });
});

describe.skipIf(!isRoot)("read-only project folders (bind mounts, in a private mount namespace)", () => {
  it("add-service with a read-only units/ fails at step 4, restores manifest.json, exits 1; a read-only project still validates", async () => {
    const services = { api: fixture("binds-port.js", ports[2]) };
    const ns = await inNamespace(
      "ro2",
      4096,
      { "manifest.json": manifest(services) },
      `
STEP=first; orch generate; snap old
mount --bind "$P/units" "$P/units" && mount -o remount,bind,ro "$P/units"
STEP=add; orch add-service quotes --command /bin/true --port ${ports[3]} --no-start; snap after
umount "$P/units"
mount --bind "$P" "$P" && mount -o remount,bind,ro "$P"
STEP=validate; orch validate
STEP=gen; orch generate
`,
    );
    const add = ns.step("add");
    expect(add.rc, add.stdout + add.stderr).toBe(1);
    expect(add.stderr).toMatch(
      /step 4 \(generate units\/\) failed: read-only file system: cannot write \S+\/units\/\S+ \(EROFS\)/,
    );
    expect(ns.tree("after").get("manifest.json")).toBe(ns.tree("old").get("manifest.json"));
    expect(ns.step("validate").rc, ns.step("validate").stderr).toBe(0);
    const gen = ns.step("gen");
    expect(gen.rc, gen.stderr).toBe(1);
    expect(gen.stderr).toMatch(/read-only file system/);
    expect(gen.stderr).not.toMatch(/internal error/);
  });
});

it.runIf(!isRoot)("needs root for mount namespaces: the disk cases above were skipped", () => {
  expect(isRoot).toBe(false);
});
