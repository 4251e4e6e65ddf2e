// Installs what orchestrate and its tests need when it is missing, using only Node built-ins (it runs
// before node_modules exists): npm dependencies from package-lock.json, and supervisord from Debian's
// packages (as root) — the real supervisord the procedure and the tests drive.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
const has = (cmd, args = ["--version"]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;

if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
  console.log("ensure-deps: installing npm dependencies (npm ci)");
  const r = run("npm", ["ci", "--no-audit", "--no-fund"]);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// Debian packages: each entry is [package, a check that it is usable]. supervisor (the private supervisord
// and its Python parser, the oracle), nginx-light (the proxy), nftables (the firewall ruleset), and the
// real applications the tests and benches run (FastAPI under uvicorn, Flask under gunicorn, websockets).
const debian = [
  [
    "supervisor",
    () => has("supervisord", ["--version"]) && has("/usr/bin/python3", ["-c", "import supervisor.options"]),
  ],
  ["nginx-light", () => has("nginx", ["-v"]) || has("/usr/sbin/nginx", ["-v"])],
  ["nftables", () => has("nft", ["--version"]) || has("/usr/sbin/nft", ["--version"])],
  ["iproute2", () => has("ss", ["--version"]) || has("/usr/bin/ss", ["--version"])],
  ["lsof", () => has("lsof", ["-v"]) || has("/usr/bin/lsof", ["-v"])],
  ["python3-fastapi", () => has("/usr/bin/python3", ["-c", "import fastapi"])],
  ["python3-uvicorn", () => has("/usr/bin/python3", ["-c", "import uvicorn"])],
  ["gunicorn", () => has("/usr/bin/python3", ["-c", "import gunicorn"])],
  ["python3-flask", () => has("/usr/bin/python3", ["-c", "import flask"])],
  ["python3-websockets", () => has("/usr/bin/python3", ["-c", "import websockets"])],
  // the edge tests: a self-signed certificate for the TLS server, HTTPS and redirect requests
  ["openssl", () => has("/usr/bin/openssl", ["version"])],
  ["curl", () => has("/usr/bin/curl", ["--version"])],
];
const missing = debian.filter(([, ok]) => !ok()).map(([name]) => name);
if (missing.length) {
  if (process.getuid?.() === 0 && has("apt-get", ["--version"])) {
    console.log(`ensure-deps: installing from Debian's packages: ${missing.join(" ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (
      run("apt-get", ["update", "-qq"], { env }).status !== 0 ||
      run("apt-get", ["install", "-y", "-qq", ...missing], { env }).status !== 0
    ) {
      console.error(`ensure-deps: apt-get install ${missing.join(" ")} failed`);
      process.exit(1);
    }
  } else if (missing.includes("supervisor")) {
    console.error(
      "ensure-deps: supervisord is missing. Install it with `sudo apt-get install supervisor` (Debian/Ubuntu) or `pip install supervisor`.",
    );
    process.exit(1);
  } else {
    console.error(
      `ensure-deps: not installed (needed by some tests and benches only): ${missing.join(" ")}; as root: apt-get install ${missing.join(" ")}`,
    );
  }
}
