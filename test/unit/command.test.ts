/** splitCommand: POSIX quoting without expansions; shell-only syntax refused with a fix. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CommandSyntaxError, fillPlaceholders, splitCommand } from "../../src/model/command";

describe("splitCommand", () => {
  it.each([
    ["python3 app.py --port {port}", ["python3", "app.py", "--port", "{port}"]],
    ["  a   b\tc  ", ["a", "b", "c"]],
    [`a "two words" 'single $HOME' "esc \\" \\\\ \\$"`, ["a", "two words", "single $HOME", 'esc " \\ $']],
    [`a\\ b c\\'d`, ["a b", "c'd"]],
    [`"" ''`, ["", ""]],
    [`a"b"'c'd`, ["abcd"]],
    [`x '|' ';' '*'`, ["x", "|", ";", "*"]],
    [`--url=http://h:1/p?q=1`.replace("?", "'?'"), ["--url=http://h:1/p?q=1"]],
    ["a#b", ["a#b"]],
    ["ünï cödé %s 100%", ["ünï", "cödé", "%s", "100%"]],
  ])("%s", (input, expected) => {
    expect(splitCommand(input)).toEqual(expected);
  });

  it.each([
    ["python3 'app.py", /unterminated single quote/],
    [`python3 "app.py`, /unterminated double quote/],
    ["a | b", /shell syntax "\|"/],
    ["a; b", /shell syntax ";"/],
    ["a > log", /shell syntax ">"/],
    ["echo $HOME", /shell syntax "\$"/],
    [`echo "$HOME"`, /would be expanded/],
    ["ls *.py", /glob/],
    ["cat ~/x", /home-folder/],
    ["a && b", /shell syntax "&"/],
  ])("refuses %s", (input, message) => {
    let error: unknown;
    try {
      splitCommand(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CommandSyntaxError);
    expect((error as Error).message).toMatch(message);
    expect((error as CommandSyntaxError).fix).toBeTruthy();
  });

  it("round-trips any argv quoted word by word with single quotes", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme" }), { minLength: 1, maxLength: 6 }), (argv) => {
        const quoted = argv.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(" ");
        expect(splitCommand(quoted)).toEqual(argv);
      }),
      { numRuns: 300 },
    );
  });
});

describe("fillPlaceholders", () => {
  it("replaces {port} {host} {name} and leaves other braces", () => {
    expect(
      fillPlaceholders("--port={port} {host}:{name} {other} {", { port: 8001, host: "127.0.0.1", name: "api" }),
    ).toBe("--port=8001 127.0.0.1:api {other} {");
  });
  it("keeps {port} when the service has no port (validation refuses it)", () => {
    expect(fillPlaceholders("{port}", { host: "h", name: "n" })).toBe("{port}");
  });
});
