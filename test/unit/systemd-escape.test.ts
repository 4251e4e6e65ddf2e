/**
 * Tables for the systemd escapers (src/render/systemd/escape.ts). What systemd actually reads from these
 * outputs is checked by test/e2e/systemd-oracle.test.ts; this file pins the exact bytes.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors";
import {
  environmentAssignment,
  execArg,
  execStart,
  pathListItem,
  pathValue,
  textValue,
} from "../../src/render/systemd/escape";

const where = { service: "api", field: "ExecStart" };

describe("execArg", () => {
  it.each([
    ["plain", '"plain"'],
    ["", '""'],
    ["two words", '"two words"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["100%", '"100%%"'],
    ["%n%%", '"%%n%%%%"'],
    ["$HOME", '"$$HOME"'],
    ["${X}", '"$${X}"'],
    ["$$", '"$$$$"'],
    [";", '";"'],
    ["#", '"#"'],
    ["a,b", '"a,b"'],
    ["k=v", '"k=v"'],
    ["back\\slash", '"back\\\\slash"'],
    ["trailing\\", '"trailing\\\\"'],
    ["\\t literally", '"\\\\t literally"'],
    ["tab\there", '"tab\\there"'],
    ["line\nbreak", '"line\\nbreak"'],
    ["'single'", "\"'single'\""],
    ["`tick`", '"`tick`"'],
    ["ünïcødé ✓ 🚀", '"ünïcødé ✓ 🚀"'],
    ["--port=8001", '"--port=8001"'],
  ])("%j → %s", (input, expected) => {
    expect(execArg(input)).toBe(expected);
  });

  it.each([
    ["bell\u0007"],
    ["nul\u0000"],
    ["cr\r"],
    ["del\u007f"],
    ["esc\u001b[0m"],
    ["lone \ud800 surrogate"],
    ["non\ufffe"],
    ["non\ufdd0"],
    ["non\u{10ffff}"],
  ])("refuses %j with a UsageError naming service, field and value", (input) => {
    let error: unknown;
    try {
      execArg(input, where);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toContain('service "api"');
    expect((error as UsageError).message).toContain("ExecStart=");
    expect((error as UsageError).message).toContain(JSON.stringify(input));
  });
});

describe("execStart", () => {
  it.each([
    [["/usr/bin/python3", "app.py", "--port", "8001"], '"/usr/bin/python3" "app.py" "--port" "8001"'],
    [["python3", "-c", "print('a b')"], '"python3" "-c" "print(\'a b\')"'],
    [["/opt/my app/bin/run", ";", "rm", "-rf"], '"/opt/my app/bin/run" ";" "rm" "-rf"'],
    [["/bin/sh", "-c", 'echo "$HOME" 100%'], '"/bin/sh" "-c" "echo \\"$$HOME\\" 100%%"'],
  ])("%j → %s", (argv, expected) => {
    expect(execStart(argv)).toBe(expected);
  });

  it.each([[[]], [[""]], [["./venv/bin/python"]], [["backend/run.sh", "x"]]])("refuses %j", (argv) => {
    expect(() => execStart(argv, where)).toThrow(UsageError);
  });
});

describe("environmentAssignment", () => {
  it.each([
    ["PORT", "8001", '"PORT=8001"'],
    ["EMPTY", "", '"EMPTY="'],
    ["T_DQ", 'say "hi" now', '"T_DQ=say \\"hi\\" now"'],
    ["T_PCT", "100%", '"T_PCT=100%%"'],
    ["T_DOLLAR", "$HOME ${X} $$", '"T_DOLLAR=$HOME ${X} $$"'],
    ["T_SEMI", "a ; b", '"T_SEMI=a ; b"'],
    ["T_HASH", "# not a comment", '"T_HASH=# not a comment"'],
    ["T_URL", "http://x:80/p?q=1&r=2", '"T_URL=http://x:80/p?q=1&r=2"'],
    ["T_BS", "C:\\path\\", '"T_BS=C:\\\\path\\\\"'],
    ["T_EQ", "a=b=c", '"T_EQ=a=b=c"'],
    ["T_COMMA", "a,b", '"T_COMMA=a,b"'],
    ["T_SPACES", "  padded  ", '"T_SPACES=  padded  "'],
    ["T_QUOTE", '"', '"T_QUOTE=\\""'],
    ["T_UNI", "ünï 🚀", '"T_UNI=ünï 🚀"'],
    ["_x1", "v", '"_x1=v"'],
  ])("%s=%j → %s", (key, value, expected) => {
    expect(environmentAssignment(key, value)).toBe(expected);
  });

  it("never writes \\$ (systemd drops such an assignment)", () => {
    expect(environmentAssignment("A", "\\$HOME")).toBe('"A=\\\\$HOME"');
    expect(environmentAssignment("A", "$")).not.toContain("\\$");
  });

  it.each([
    ["1BAD", "v"],
    ["A-B", "v"],
    ["A B", "v"],
    ["", "v"],
    ["OK", "tab\there"],
    ["OK", "line\nbreak"],
    ["OK", "nul\u0000"],
  ])("refuses %s=%j", (key, value) => {
    expect(() => environmentAssignment(key, value, { service: "api", field: "Environment" })).toThrow(
      /service "api".*Environment/,
    );
  });
});

describe("pathValue", () => {
  it.each([
    ["/srv/demo", "/srv/demo"],
    ["/srv/my app/logs/api.out.log", "/srv/my app/logs/api.out.log"],
    ['/srv/d i"r #x;y\\z$b', '/srv/d i"r #x;y\\z$b'],
    ["/srv/100%/x", "/srv/100%%/x"],
    ["/srv/ünï", "/srv/ünï"],
  ])("%j → %s", (input, expected) => {
    expect(pathValue(input)).toBe(expected);
  });

  it.each([
    ["relative/dir"],
    ["./x"],
    [""],
    ["~/x"],
    ["/srv/tab\tx"],
    ["/srv/nl\nx"],
    ["/srv/trailing "],
    ["/srv/trailing\\"],
  ])("refuses %j with a UsageError naming the value", (input) => {
    expect(() => pathValue(input, { service: "api", field: "WorkingDirectory" })).toThrow(UsageError);
    expect(() => pathValue(input, { service: "api", field: "WorkingDirectory" })).toThrow(JSON.stringify(input));
  });
});

describe("pathListItem", () => {
  it.each([
    ["/srv/demo/logs", '"/srv/demo/logs"'],
    ['/srv/my "app"/logs', '"/srv/my \\"app\\"/logs"'],
    ["/srv/a\\b%c", '"/srv/a\\\\b%%c"'],
  ])("%j → %s", (input, expected) => {
    expect(pathListItem(input)).toBe(expected);
  });

  it("refuses a relative path", () => {
    expect(() => pathListItem("logs")).toThrow(UsageError);
  });
});

describe("textValue", () => {
  it.each([
    ["api — Trade execution (port 8001)", "api — Trade execution (port 8001)"],
    ['say "hi" ; # $x', 'say "hi" ; # $x'],
    ["100% sure", "100%% sure"],
    ["", ""],
  ])("%j → %s", (input, expected) => {
    expect(textValue(input)).toBe(expected);
  });

  it.each([[" lead"], ["trail "], ["ends\\"], ["nl\nx"]])("refuses %j", (input) => {
    expect(() => textValue(input)).toThrow(UsageError);
  });
});
