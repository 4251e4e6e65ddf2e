/**
 * The environment every program starts from. The private supervisord is started with exactly this
 * (docs/facts.md: children inherit supervisord's whole environment, so it must be clean), and test-start
 * gives it to the program too, so a service sees the same variables alone and under supervisord.
 */

/** PATH given to the private supervisord and to test-start (Debian's default for root and users alike). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The clean base environment: PATH, LANG, and HOME/USER/LOGNAME of the invoking user when known
 * (supervisord does not set HOME/USER for a `user=` child: docs/facts.md).
 */
export function baseEnvironment(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH, LANG: "C.UTF-8" };
  for (const key of ["HOME", "USER", "LOGNAME", "TZ"] as const) {
    const value = from[key];
    if (value) env[key] = value;
  }
  return env;
}

/**
 * The environment a program receives (without its envFile, which the wrapper or systemd adds at start):
 * the clean base, then PORT, HOST, SERVICE_NAME and the manifest's env.
 */
export function launchEnvironment(
  service: { env: Record<string, string> },
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return { ...baseEnvironment(from), ...service.env };
}
