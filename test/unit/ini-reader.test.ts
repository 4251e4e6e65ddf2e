/**
 * readIni / expandPercent / splitCommand / splitEnvironment: tables of (input, expected) rows, each
 * expectation being what supervisor 4.2.5 itself gives (checked against supervisor's parser in
 * test/e2e/ini-reader-oracle.test.ts).
 */
import { describe, expect, test } from "vitest";
import { UsageError } from "../../src/errors";
import {
  expandPercent,
  readIni,
  splitCommand,
  splitEnvironment,
  type IniLocation,
} from "../../src/manifest/ini-reader";

const at: IniLocation = { file: "sv.conf", line: 7, section: "program:web", key: "command" };

/** Section name → { key: value } of readIni's result. */
function read(text: string): Record<string, Record<string, string>> {
  return Object.fromEntries(
    readIni(text, "sv.conf").map((s) => [s.name, Object.fromEntries([...s.entries].map(([k, e]) => [k, e.value]))]),
  );
}

describe("readIni (RawConfigParser as supervisord configures it)", () => {
  test.each<[string, string, Record<string, Record<string, string>>]>([
    [
      "= and : delimiters, first one wins",
      "[a]\nx = 1\ny: 2\nz : p=q\nw=a:b\n",
      { a: { x: "1", y: "2", z: "p=q", w: "a:b" } },
    ],
    ["keys lower-cased, section names not", "[Program:Web]\nCOMMAND = run\n", { "Program:Web": { command: "run" } }],
    [
      "inline comment only after whitespace",
      '[a]\nx=a;b\ny=a ;b\nz=a\t#b\nw="a #b"\n',
      { a: { x: "a;b", y: "a", z: "a", w: '"a' } },
    ],
    ["configparser's round-based comment search", "[a]\nx=a#b #c ;d\n", { a: { x: "a#b #c" } }],
    ["comment lines, also inside continuations", "; top\n[a]\n# c\nx=1,\n  ; skipped\n  2\n", { a: { x: "1,\n2" } }],
    [
      "continuation joins with newline; blank lines kept inside, dropped at the end",
      "[a]\nx=1\n  2\n\n  3\n\n\n[b]\n",
      { a: { x: "1\n2\n\n3" }, b: {} },
    ],
    ["indent deeper than the key, not than column 0", "[a]\n  x=1\n  y=2\n    z\n", { a: { x: "1", y: "2\nz" } }],
    [
      "repeated key keeps the last, repeated section merges",
      "[a]\nx=1\n[b]\n[a]\nx=2\ny=3\n",
      { a: { x: "2", y: "3" }, b: {} },
    ],
    ["[DEFAULT] is inherited and not listed", "[DEFAULT]\nd=/srv\nx=0\n[a]\nx=1\n", { a: { d: "/srv", x: "1" } }],
    ["header: up to the last ], rest ignored", "[a]b] trailing\nx=1\n[c] ; note\n", { "a]b": { x: "1" }, c: {} }],
    [
      "a ; inside a header hides it: the line becomes a key of the previous section",
      "[a]\n[program:x ;y]\ncommand=z\n",
      { a: { "[program": "x", command: "z" } },
    ],
    ["CRLF and CR are line ends", "[a]\r\nx=1\r\ny=2\rz=3", { a: { x: "1", y: "2", z: "3" } }],
    ["empty value", "[a]\nx=\ny =  \n", { a: { x: "", y: "" } }],
    [
      "Python whitespace (NBSP, \\x1c) is stripped; BOM is not",
      "[a]\nx=\u00a0v\u00a0\ny=\x1cw\n",
      { a: { x: "v", y: "w" } },
    ],
  ])("%s", (_name, text, expected) => {
    expect(read(text)).toEqual(expected);
  });

  test("entries carry the line of their key, sections of their header", () => {
    const [s] = readIni("\n[a]\nx=1\n  2\ny=3\n", "f");
    expect(s.line).toBe(2);
    expect(s.entries.get("x")).toEqual({ value: "1\n2", line: 3 });
    expect(s.entries.get("y")?.line).toBe(5);
  });

  test.each([
    ["a key before any section", "x=1\n[a]\n", /sv\.conf:1: "x=1" comes before any \[section\]/],
    [
      "lines that are neither header nor option, all listed",
      "[a]\nx=1\njunk\n=v\n",
      /2 lines supervisord cannot parse[\s\S]*3: "junk"[\s\S]*4: "=v"/,
    ],
  ])("refuses %s", (_name, text, message) => {
    expect(() => readIni(text, "sv.conf")).toThrowError(message);
    expect(() => readIni(text, "sv.conf")).toThrowError(UsageError);
  });
});

describe("expandPercent (value % expansions)", () => {
  const vars = { here: "/etc/sv", program_name: "web", process_num: 3, ENV_HOME: "/root" };
  test.each([
    ["100%%", "100%"],
    ["%(here)s/%(program_name)s", "/etc/sv/web"],
    ["%(ENV_HOME)s", "/root"],
    ["n%(process_num)02d|%(process_num)-3d|%(process_num)+d", "n03|3  |+3"],
    ["[%(program_name)5s][%(program_name)-5s][%(program_name).1s]", "[  web][web  ][w]"],
    ["no percent", "no percent"],
  ])("%s", (text, expected) => {
    expect(expandPercent(text, vars, at)).toBe(expected);
  });

  test.each([
    ["100%", /sv\.conf:7: \[program:web\] command="100%": .*badly formatted/],
    ["%(nope)s", /%\(nope\) cannot be expanded; available names: ENV_HOME, here, process_num, program_name/],
    ["%(here)d", /needs a number/],
    ["%(here)r", /not supported/],
    ["%(here", /unclosed/],
    ["%(here)", /incomplete format/],
    ["%s", /badly formatted/],
  ])("refuses %s", (text, message) => {
    expect(() => expandPercent(text, vars, at)).toThrowError(message);
  });
});

describe("splitCommand (POSIX shlex.split)", () => {
  test.each<[string, string[]]>([
    ["/srv/bin/app --port 8001", ["/srv/bin/app", "--port", "8001"]],
    ["a \"two words\" '$HOME *' ~ $X", ["a", "two words", "$HOME *", "~", "$X"]],
    ['"a "\\;"b"', ["a ;b"]],
    ['"q\\"x\\\\y\\n"', ['q"x\\y\\n']],
    ["a\\ b c\\\\d", ["a b", "c\\d"]],
    ["'it''s' \"\" ''", ["its", "", ""]],
    ["  \t lead  trail \n", ["lead", "trail"]],
    ["x#y # z", ["x#y", "#", "z"]],
    ["caf\u00e9 \u{1F600}", ["caf\u00e9", "\u{1F600}"]],
  ])("%s", (text, argv) => {
    expect(splitCommand(text, at)).toEqual(argv);
  });

  test.each([
    ['a "b', /no closing " quotation/],
    ["a 'b", /no closing ' quotation/],
    ["a \\", /trailing backslash/],
  ])("refuses %s", (text, message) => {
    expect(() => splitCommand(text, at)).toThrowError(message);
  });
});

describe("splitEnvironment (supervisor's dict_of_key_value_pairs)", () => {
  test.each<[string, Array<[string, string]>]>([
    [
      'A="1",B="two words"',
      [
        ["A", "1"],
        ["B", "two words"],
      ],
    ],
    [
      "A=http://x/p?q=1",
      [
        ["A", "http://x/p"],
        ["q", "1"],
      ],
    ],
    ["A=two words", [["A", "two"]]],
    [
      `T_DQ='say "hi" now',T_BS="a\\b"`,
      [
        ["T_DQ", 'say "hi" now'],
        ["T_BS", "a\\b"],
      ],
    ],
    ['A=""x""', [["A", ""]]],
    ["A=1 B", [["A", "1"]]],
    [
      "A=1,\nB=2",
      [
        ["A", "1"],
        ["B", "2"],
      ],
    ],
    [
      "A=x#comment\n,B=2",
      [
        ["A", "x"],
        ["B", "2"],
      ],
    ],
    ["A=1,A=2", [["A", "2"]]],
    [
      'A="caf\u00e9",B=caf\u00e9',
      [
        ["A", "caf\u00e9"],
        ["B", "caf"],
      ],
    ],
    ["", []],
  ])("%s", (text, pairs) => {
    expect([...splitEnvironment(text, at)]).toEqual(pairs);
  });

  test.each([
    ["A=1 B=2", /expected KEY=VALUE/],
    ["A", /expected KEY=VALUE/],
    ['A="1', /no closing " quotation/],
  ])("refuses %s", (text, message) => {
    expect(() => splitEnvironment(text, at)).toThrowError(message);
  });
});
