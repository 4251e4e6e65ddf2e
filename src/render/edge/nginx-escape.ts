/**
 * nginx configuration values, written exactly. nginx reads a double-quoted token with `\"`, `\\` (and `\t`,
 * `\r`, `\n`) unescaped (nginx source ngx_conf_file.c, ngx_conf_read_token; nginx docs "Configuration file
 * measurement units" / "Beginner's Guide: configuration file's structure"); every other character stands for itself.
 * `$` starts a variable in every directive that takes variables (nginx docs, ngx_http_core_module "root",
 * ngx_http_ssl_module "ssl_certificate", ngx_http_log_module "access_log") and has no escape, so it is refused.
 */
import { UsageError } from "../../errors";

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * `value` as one double-quoted nginx token. `what` names the value in the error ("proxy.tls.certificate").
 * @param options.literalDollar true where nginx takes no variables (a location prefix): `$` is then allowed.
 * @throws UsageError (exit 2) for a control character, or `$` where nginx would read a variable.
 */
export function nginxQuote(value: string, what: string, options: { literalDollar?: boolean } = {}): string {
  if (CONTROL.test(value))
    throw new UsageError(
      `${what} ${JSON.stringify(value)} contains a control character, which nginx cannot read in a configuration value`,
      "remove it (or move the file to a path without it)",
    );
  if (!options.literalDollar && value.includes("$"))
    throw new UsageError(
      `${what} ${JSON.stringify(value)} contains "$", which nginx reads as a variable and cannot escape`,
      'move the file (or the project) to a path without "$"',
    );
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
