/**
 * How a service is launched: the exact argv, working folder and environment. supervisord's program
 * (src/render/supervisord/programs.ts) and `orchestrate test-start` both run this, so a service behaves alone exactly
 * as it does under supervisord.
 *
 * supervisord's `environment=` cannot hold every string (see `envValueProblem` in
 * src/render/supervisord/escape.ts). Such values, and the service's `envFile`, are delivered by a small
 * wrapper, `units/bin/envfile-exec FILE... -- ARGV...` (src/render/supervisord/envfile-exec.ts), which loads the files
 * and then exec's the program in place (same PID).
 *
 * Precedence, lowest first: the inline environment (PORT, HOST, SERVICE_NAME, then the manifest's env), the
 * generated `units/env/NAME.env` (manifest values that could not be inline; its keys never repeat an inline
 * key), then the service's own `envFile` — last, so it wins, as systemd's `EnvironmentFile=` wins over
 * `Environment=`: both backends give a service the same variables.
 */
import { join } from "node:path";
import { UsageError } from "../../errors";
import { isRepresentableEnvValue } from "./escape";
import type { Instance, Model, Service } from "../../model/types";

/** What to spawn for a service: `argv` exec'd with no shell in `cwd`, environment = base + `env`. */
export interface LaunchSpec {
  /** The program and its arguments, the envfile-exec wrapper first when `envFiles` is not empty. */
  argv: string[];
  /** Absolute working folder (the service's `directory`). */
  cwd: string;
  /** Variables given inline (supervisord `environment=`), in order; every value is representable there. */
  env: Record<string, string>;
  /** Absolute env files the wrapper loads, in order (later wins); empty when no wrapper is needed. */
  envFiles: string[];
}

/** Absolute path of the wrapper that loads env files and exec's the program: `<units>/bin/envfile-exec`. */
export function envfileExecPath(model: Model): string {
  return join(model.paths.units, "bin", "envfile-exec");
}

/**
 * Absolute path of the generated env file for values supervisord cannot hold inline: `<units>/env/PROGRAM.env`
 * (NAME.env without the `instances` key, NAME@I.env with it). `instance` defaults to instance 0.
 */
export function generatedEnvFilePath(model: Model, service: Service, instance = service.instances[0]): string {
  return join(model.paths.units, "env", `${instance.program}.env`);
}

/**
 * Splits the environment of one instance (default: instance 0, i.e. `service.env`; order kept) into values
 * supervisord's `environment=` can hold (`inline`) and the rest (`file`), which go to the generated env file.
 * @throws UsageError for a value containing NUL, which no environment variable can hold.
 */
export function splitEnvironment(
  service: Service,
  instance: Pick<Instance, "env"> = service,
): { inline: Record<string, string>; file: Record<string, string> } {
  const inline: Record<string, string> = {};
  const file: Record<string, string> = {};
  for (const [key, value] of Object.entries(instance.env)) {
    if (value.includes("\0")) {
      throw new UsageError(
        `services.${service.name}.env.${key}: expected a string without NUL characters, found ${JSON.stringify(value)}`,
        "remove the NUL character; no environment variable can hold one",
      );
    }
    if (isRepresentableEnvValue(value)) inline[key] = value;
    else file[key] = value;
  }
  return { inline, file };
}

/**
 * The launch of one instance of `service` (default instance 0): its own argv when everything fits inline,
 * else the wrapper `[<units>/bin/envfile-exec, generated env file?, envFile?, "--", ...instance.argv]`.
 * @throws UsageError (see {@link splitEnvironment}).
 */
export function launchSpec(model: Model, service: Service, instance = service.instances[0]): LaunchSpec {
  const { inline, file } = splitEnvironment(service, instance);
  const envFiles: string[] = [];
  if (Object.keys(file).length > 0) envFiles.push(generatedEnvFilePath(model, service, instance));
  if (service.envFile !== undefined) envFiles.push(service.envFile);
  const argv = envFiles.length > 0 ? [envfileExecPath(model), ...envFiles, "--", ...instance.argv] : [...instance.argv];
  return { argv, cwd: service.directory, env: inline, envFiles };
}
