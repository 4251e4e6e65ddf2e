/**
 * Secrets found while importing: which variables look secret, and the env files they move to, so that
 * manifest.json (and every file generated from it) holds no secret. Pure: returns the file to create
 * (path, content, mode 0600); the caller writes it.
 */

/** One file an import wants created; `path` is relative to the manifest's folder. */
export interface PlannedFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * Name words that mark a secret. Matched against whole words of the name (split at `_`, `-`, `.` and
 * camelCase), so DB_PASSWORD, REC_DB_PASS, API_KEY, GITHUB_TOKEN and SECRET_KEY_BASE match while
 * KEYBOARD_LAYOUT, PASSTHROUGH, BYPASS_CACHE, COMPASS_URL and TOKENIZER_PATH do not. `PWD` is left out:
 * it is the shell's working directory. A few false positives (SORT_KEYS) are accepted: moving a
 * harmless value to an env file costs nothing, leaking a password does.
 */
export const SECRET_WORDS: ReadonlySet<string> = new Set([
  "PASSWORD",
  "PASSWORDS",
  "PASSWD",
  "PASS",
  "PASSPHRASE",
  "SECRET",
  "SECRETS",
  "TOKEN",
  "TOKENS",
  "KEY",
  "KEYS",
  "APIKEY",
  "CREDENTIAL",
  "CREDENTIALS",
  "DSN",
]);
/** Word endings that mark a secret inside one word: DBPASSWORD, MYSECRET, GHTOKEN, OPENAIAPIKEY. */
const SECRET_SUFFIX = /(PASSWORD|PASSWD|SECRET|TOKEN|APIKEY)$/;
/** A URL that carries `user:password@` (postgres://u:p@h/db): secret whatever the variable's name. */
const URL_WITH_PASSWORD = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@\s:]*:[^/?#@\s]*@/;

/** Upper-cased words of a variable name: `dbPassword_2` → DB, PASSWORD, 2. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .split(/[_.-]+/)
    .filter(Boolean)
    .map((w) => w.toUpperCase());
}

/**
 * Why a variable looks secret ("name contains PASSWORD", "value is a URL with a password"), or
 * undefined when it does not. The rule is SECRET_WORDS / word suffixes on the name, plus credentials
 * embedded in a URL value.
 */
export function secretReason(name: string, value: string): string | undefined {
  const word = nameWords(name).find((w) => SECRET_WORDS.has(w) || SECRET_SUFFIX.test(w));
  if (word) return `name contains ${word}`;
  if (URL_WITH_PASSWORD.test(value)) return "value is a URL with a password";
  return undefined;
}

/** Characters an env-file value may hold unquoted (same meaning to systemd, POSIX sh and dotenv). */
const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One `KEY=value` line in the dialect systemd's EnvironmentFile= and POSIX `sh` (`set -a; . FILE`) read
 * alike (systemd.exec(5) "EnvironmentFile="): plain values bare, anything else in double quotes with
 * `\`, `"`, `$` and backquote escaped by a backslash. A newline stays literal inside the quotes.
 */
export function envFileLine(key: string, value: string): string {
  if (BARE.test(value)) return `${key}=${value}`;
  return `${key}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The env file of one service: a header saying what it is, then one line per variable. */
export function renderEnvFile(service: string, vars: ReadonlyArray<[string, string]>, source: string): string {
  const header = [
    `# Secrets of ${service}, moved out of ${source} by "orchestrate import".`,
    "# Keep this file mode 0600 and out of version control; the manifest refers to it by envFile.",
  ];
  return [...header, ...vars.map(([k, v]) => envFileLine(k, v))].join("\n") + "\n";
}

/** What happens to one service's environment: what stays inline, what moves, and the file it moves to. */
export interface SecretsPlan {
  /** Variables that stay in manifest.json's `env`. */
  env: Record<string, string>;
  /** Names of the variables moved out, each with why it looked secret (values never listed). */
  moved: Array<{ name: string; reason: string }>;
  /** The env file to create, when anything moved; its path goes into `envFile`. */
  file?: PlannedFile;
}

/**
 * Splits a service's environment into inline variables and secrets, and plans `DIR/SERVICE.env`
 * (mode 0o600) for the secrets. Order of variables is kept.
 */
export function planSecrets(
  service: string,
  env: ReadonlyMap<string, string>,
  secretsDir: string,
  source: string,
): SecretsPlan {
  const inline: Record<string, string> = {};
  const secret: Array<[string, string]> = [];
  const moved: SecretsPlan["moved"] = [];
  for (const [name, value] of env) {
    const reason = secretReason(name, value);
    if (reason) {
      secret.push([name, value]);
      moved.push({ name, reason });
    } else inline[name] = value;
  }
  if (secret.length === 0) return { env: inline, moved };
  const dir = secretsDir.replace(/\/+$/, "") || ".";
  return {
    env: inline,
    moved,
    file: { path: `${dir}/${service}.env`, content: renderEnvFile(service, secret, source), mode: 0o600 },
  };
}
