/**
 * A throw-away project for tests against a real supervisord, written BY HAND in the shape docs/facts.md
 * describes (independent of the renderer): units/supervisord.conf with a private unix socket, pidfile and
 * logs under the project, and one units/supervisor/NAME.conf per program. Programs are inline node scripts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProjectPaths } from "../../src/model/types";
import { projectPaths } from "./model";

/** One hand-written [program:NAME]. `code` is JavaScript for `node -e`; `args` follow it. */
export interface TestProgram {
  name: string;
  code: string;
  args?: string[];
  startsecs?: number;
  startretries?: number;
  stopwaitsecs?: number;
  priority?: number;
  autorestart?: boolean;
}

/** JS for a program that listens on 127.0.0.1:argv[1], prints `tag` to stdout and `err:tag` to stderr. */
export function listener(tag = "ready"): string {
  return `const n=require('net');n.createServer(s=>s.end()).listen(+process.argv[1],'127.0.0.1',()=>{console.log('${tag}');console.error('err:${tag}')})`;
}

/** Creates a temp project (short path under /tmp: socket paths must stay under 108 bytes). */
export function makeProject(prefix = "orch-sv-"): ProjectPaths {
  const root = mkdtempSync(join("/tmp", prefix));
  const paths = projectPaths(root);
  for (const dir of [paths.units, paths.supervisorDir, paths.logs, paths.run]) mkdirSync(dir, { recursive: true });
  writeFileSync(
    paths.supervisordConf,
    [
      "[unix_http_server]",
      `file=${paths.socket}`,
      "chmod=0700",
      "",
      "[supervisord]",
      `pidfile=${paths.pidfile}`,
      `logfile=${paths.supervisordLog}`,
      `childlogdir=${paths.logs}`,
      "",
      "[rpcinterface:supervisor]",
      "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
      "",
      "[supervisorctl]",
      `serverurl=unix://${paths.socket}`,
      "",
      "[include]",
      `files=${paths.supervisorDir}/*.conf`,
      "",
    ].join("\n"),
  );
  return paths;
}

/** Writes units/supervisor/NAME.conf. The code must not contain `"`, `%` or a `;`/`#` after whitespace. */
export function writeProgram(paths: ProjectPaths, program: TestProgram): void {
  if (/["%\\]|\s[;#]/.test(program.code))
    throw new Error(`test program ${program.name}: code cannot be written inline`);
  const command = [process.execPath, "-e", `"${program.code}"`, ...(program.args ?? [])].join(" ");
  writeFileSync(
    join(paths.supervisorDir, `${program.name}.conf`),
    [
      `[program:${program.name}]`,
      `command=${command}`,
      `directory=${paths.root}`,
      "autostart=true",
      `autorestart=${program.autorestart ?? true}`,
      `startsecs=${program.startsecs ?? 1}`,
      `startretries=${program.startretries ?? 3}`,
      `stopwaitsecs=${program.stopwaitsecs ?? 5}`,
      `priority=${program.priority ?? 100}`,
      "stopasgroup=true",
      "killasgroup=true",
      `stdout_logfile=${join(paths.logs, `${program.name}.out.log`)}`,
      `stderr_logfile=${join(paths.logs, `${program.name}.err.log`)}`,
      "",
    ].join("\n"),
  );
}

/** Deletes units/supervisor/NAME.conf. */
export function removeProgram(paths: ProjectPaths, name: string): void {
  rmSync(join(paths.supervisorDir, `${name}.conf`), { force: true });
}
