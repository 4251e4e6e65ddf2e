/**
 * What a command may touch of the outside world: its output streams and settings. Commands write
 * here, never to console (as corepack's commands write to context.stdout); tests pass in buffers.
 */
import type { Operation } from "../progress/operation";
import { printProgress } from "./present/progress";

/** A stream a command writes to. */
export interface Output {
  write(text: string): void;
}

/** Everything a command body receives: output streams and the global options. */
export interface Context {
  stdout: Output;
  stderr: Output;
  /** ANSI colours allowed (a TTY, no --no-color, no NO_COLOR). */
  color: boolean;
  /** --manifest PATH as given, if any. */
  manifest?: string;
  /** --backend */
  backend: "supervisor" | "systemd";
  /** systemd scope and offline root (--user, --root); the machine's supervisord (--server-url) */
  systemd: { scope: "system" | "user"; root?: string; serverUrl?: string };
  /** Environment (process.env in the CLI). */
  env: NodeJS.ProcessEnv;
}

/** The real context: process streams, env, and the parsed global options (colour only on a TTY without NO_COLOR). */
export function processContext(options: {
  manifest?: string;
  backend?: string;
  color?: boolean;
  user?: boolean;
  root?: string;
  serverUrl?: string;
}): Context {
  const env = process.env;
  const color = options.color !== false && !("NO_COLOR" in env) && process.stdout.isTTY === true;
  return {
    stdout: { write: (t) => void process.stdout.write(t) },
    stderr: { write: (t) => void process.stderr.write(t) },
    color,
    manifest: options.manifest,
    backend: options.backend === "systemd" ? "systemd" : "supervisor",
    systemd: { scope: options.user ? "user" : "system", root: options.root, serverUrl: options.serverUrl },
    env,
  };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;

/** Wraps text in an ANSI colour when the context allows it. */
export function paint(ctx: Pick<Context, "color">, colour: keyof typeof CODES, text: string): string {
  return ctx.color ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/** The {@link Operation} a procedure receives from this command: its target, and progress printed to the streams. */
export function operationOf(ctx: Context): Operation {
  return { manifest: ctx.manifest, backend: { kind: ctx.backend, ...ctx.systemd }, progress: printProgress(ctx) };
}
