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

const supervisorOk = has("supervisord", ["--version"]) && has("/usr/bin/python3", ["-c", "import supervisor.options"]);
if (!supervisorOk) {
  if (process.getuid?.() === 0 && has("apt-get", ["--version"])) {
    console.log("ensure-deps: installing supervisor from Debian's packages");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (run("apt-get", ["update", "-qq"], { env }).status !== 0 || run("apt-get", ["install", "-y", "-qq", "supervisor", "iproute2", "lsof"], { env }).status !== 0) {
      console.error("ensure-deps: apt-get install supervisor failed");
      process.exit(1);
    }
  } else {
    console.error("ensure-deps: supervisord is missing. Install it with `sudo apt-get install supervisor` (Debian/Ubuntu) or `pip install supervisor`.");
    process.exit(1);
  }
}
