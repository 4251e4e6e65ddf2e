/**
 * Table tests of the supervisord escapers: hostile input → the exact text written, or the refusal. What the
 * text MEANS to supervisord is checked by supervisord's own parser in test/e2e/supervisord-oracle.test.ts.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors";
import {
  commandLine,
  envValueProblem,
  environmentValue,
  generatedHeader,
  hasInlineComment,
  isPythonSpace,
  isRepresentableEnvValue,
  logfileValue,
  pathValue,
  plainValue,
  quoteCommandWord,
  showValue,
} from "../../src/render/supervisord/escape";

describe("quoteCommandWord", () => {
  it.each([
    ["/srv/app/bin/server", "/srv/app/bin/server"],
    ["--port=8080", "--port=8080"],
    ["k=v,w:x@y+z", "k=v,w:x@y+z"],
    ["100%", "100%%"],
    ["", '""'],
    ["two words", '"two words"'],
    ["a ;b", '"a "\\;"b"'],
    ["a #b", '"a "\\#"b"'],
    [" ;x", '" "\\;"x"'],
    [";x", '";x"'],
    ["a;b#c", '"a;b#c"'],
    ["tab\t#x", '"tab\t"\\#"x"'],
    ["nbsp\u00a0;x", '"nbsp\u00a0"\\;"x"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["it's", '"it\'s"'],
    ["back\\slash", '"back\\\\slash"'],
    ["$HOME", '"$HOME"'],
    ["~", '"~"'],
    ["*", '"*"'],
    ["%(ENV_HOME)s", '"%%"\\("ENV_HOME)s"'],
    ["%(here)s", '"%%"\\("here)s"'],
    ["(x)", '"(x)"'],
    ["naïve ☃", '"naïve ☃"'],
    ["a,b=c d", '"a,b=c d"'],
  ])("%j → %s", (word, expected) => {
    expect(quoteCommandWord(word)).toBe(expected);
  });

  it.each(["a\nb", "a\rb", "a\0b"])("refuses %j with a UsageError naming the site", (word) => {
    expect(() => quoteCommandWord(word, { service: "api", field: "command[2]" })).toThrow(UsageError);
    expect(() => quoteCommandWord(word, { service: "api", field: "command[2]" })).toThrow(
      /^services\.api\.command\[2\]: /,
    );
  });

  it("never lets whitespace precede ; or # and never writes %(here)s", () => {
    for (const w of ["a ;b", "x\u3000#y", "%(here)s", "%%(here)s", " # ; # "]) {
      const out = quoteCommandWord(w);
      expect(hasInlineComment(out)).toBe(false);
      expect(out.includes("%(here)s")).toBe(false);
    }
  });
});

describe("commandLine", () => {
  it("joins quoted words with one space", () => {
    expect(commandLine(["/srv/app/bin/server", "--port", "18096", "two words", "a ;b", "100%"])).toBe(
      '/srv/app/bin/server --port 18096 "two words" "a "\\;"b" 100%%',
    );
  });
  it("refuses an empty argv", () => {
    expect(() => commandLine([], "api")).toThrow(/services\.api\.command: expected a program to run/);
  });
  it("names the word's index", () => {
    expect(() => commandLine(["/bin/x", "ok", "bad\n"], "api")).toThrow(/services\.api\.command\[2\]/);
  });
});

describe("environmentValue", () => {
  it.each([
    ["18096", '"18096"'],
    ["", '""'],
    ["100%", '"100%%"'],
    ["%(ENV_HOME)s", '"%%(ENV_HOME)s"'],
    ['say "hi" now', "'say \"hi\" now'"],
    ["it's", '"it\'s"'],
    ["http://x:80/p?q=1&r=2", '"http://x:80/p?q=1&r=2"'],
    ["a,b=c", '"a,b=c"'],
    ["a#b;c", '"a#b;c"'],
    ["two words", '"two words"'],
    ["C:\\dir\\", '"C:\\dir\\"'],
    ["$HOME", '"$HOME"'],
    ["naïve ☃", '"naïve ☃"'],
  ])("%j → %s", (value, expected) => {
    expect(isRepresentableEnvValue(value)).toBe(true);
    expect(environmentValue(value)).toBe(expected);
  });

  it.each([
    [`it's "x"`, /both ' and "/],
    ['"quoted"', /starts or ends with a quote/],
    ["'lead", /starts or ends with a quote/],
    ['trail"', /starts or ends with a quote/],
    ["a #b", /start of a comment/],
    ["x ;y", /start of a comment/],
    ["x\t;y", /start of a comment/],
    ["x\u2028#y", /start of a comment/],
    ["line1\nline2", /line break/],
    ["cr\r", /line break/],
    ["%(here)s/x", /%\(here\)s/],
    ["nul\0", /NUL/],
  ])("refuses %j (%s)", (value, reason) => {
    expect(isRepresentableEnvValue(value)).toBe(false);
    expect(envValueProblem(value)).toMatch(reason);
    const call = () => environmentValue(value, { service: "api", field: "env.T" });
    expect(call).toThrow(UsageError);
    expect(call).toThrow(/^services\.api\.env\.T: supervisord cannot read .* back exactly: /);
    try {
      call();
    } catch (e) {
      expect((e as UsageError).exitCode).toBe(2);
      expect((e as UsageError).hint).toMatch(/envFile/);
    }
  });
});

describe("pathValue and plainValue", () => {
  it.each([
    ["/srv/demo/logs/api.out.log", "/srv/demo/logs/api.out.log"],
    ["/srv/my dir/100%", "/srv/my dir/100%%"],
    ["/srv/a;b#c", "/srv/a;b#c"],
    ["/srv/naïve", "/srv/naïve"],
    ["/srv/'q\"", "/srv/'q\""],
  ])("%j → %s", (path, expected) => {
    expect(pathValue(path)).toBe(expected);
  });

  it.each([
    ["relative/dir", /not an absolute path/],
    ["", /not an absolute path/],
    ["/srv/a #b", /comment/],
    ["/srv/a ;b", /comment/],
    ["/srv/trailing ", /whitespace/],
    ["/srv/line\nbreak", /line break/],
    ["/srv/%(here)s", /%\(here\)s/],
  ])("refuses %j", (path, reason) => {
    const call = () => pathValue(path, { service: "api", field: "directory" });
    expect(call).toThrow(UsageError);
    expect(call).toThrow(reason);
    expect(call).toThrow(/^services\.api\.directory: /);
  });

  it("logfileValue writes % as %%%% (supervisord expands *_logfile twice)", () => {
    expect(logfileValue("/srv/100%/api.out.log")).toBe("/srv/100%%%%/api.out.log");
    expect(() => logfileValue("logs/api.out.log")).toThrow(/not an absolute path/);
  });

  it("plainValue doubles % and refuses leading whitespace and empty values", () => {
    expect(plainValue("trader%")).toBe("trader%%");
    expect(() => plainValue(" trader")).toThrow(/whitespace/);
    expect(() => plainValue("")).toThrow(/empty/);
  });
});

describe("helpers", () => {
  it("isPythonSpace matches Python's str.isspace on the characters that differ from JS \\s", () => {
    for (const ch of ["\x1c", "\x1d", "\x1e", "\x1f", "\x85", " ", "\t", "\u3000", "\u2028"])
      expect(isPythonSpace(ch)).toBe(true);
    for (const ch of ["\ufeff", "a", ";", "\u200b"]) expect(isPythonSpace(ch)).toBe(false);
  });
  it("generatedHeader", () => {
    expect(generatedHeader("manifest.json")).toBe(
      '; Generated by orchestrate from manifest.json — do not edit; run "orchestrate generate".',
    );
    expect(generatedHeader("m.json", "#").startsWith("# Generated")).toBe(true);
  });
});

describe("showValue", () => {
  it("makes invisible characters visible in messages", () => {
    expect(showValue("a\u2028b\u00a0c\nd")).toBe('"a\\u2028b\\u00a0c\\nd"');
  });
});
