/** parseManifestText: strict JSON, syntax errors with line:column, repeated keys are errors. */
import { describe, expect, it } from "vitest";
import { ManifestError } from "../../src/errors";
import { parseManifestText } from "../../src/manifest/load";

function problems(text: string) {
  try {
    parseManifestText(text, "m.json");
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as ManifestError).problems;
  }
  return [];
}

describe("parseManifestText", () => {
  it("parses valid JSON", () => {
    expect(parseManifestText('{"a": {"b": [1, 2]}}', "m.json")).toEqual({ a: { b: [1, 2] } });
  });
  it("reports a syntax error with line and column", () => {
    const [p] = problems('{\n  "project": "x",\n  "services": {\n    "a": { "port": 1 }\n    "b": {}\n  }\n}');
    expect(p.message).toMatch(/line 5, column 5/);
    expect(p.path).toBe("m.json:5:5");
  });
  it("refuses comments and trailing commas", () => {
    expect(problems('{"a": 1, // c\n}').length).toBeGreaterThan(0);
    expect(problems('{"a": [1,],}').length).toBeGreaterThan(0);
  });
  it("reports two services with one name, naming both lines", () => {
    const [p] = problems('{\n "services": {\n  "api": {"port": 1},\n  "api": {"port": 2}\n }\n}');
    expect(p.message).toMatch(/key "api" appears twice in one object \(line 3 and line 4\)/);
    expect(p.path).toBe("services.api");
  });
  it("reports two port keys in one service", () => {
    const [p] = problems('{"services": {"api": {"port": 1, "port": 2}}}');
    expect(p.path).toBe("services.api.port");
  });
  it("allows one key name in different objects", () => {
    expect(problems('{"a": {"port": 1}, "b": {"port": 1}, "c": [{"port": 1}, {"port": 2}]}')).toEqual([]);
  });
  it("reports every repeated key at once", () => {
    expect(problems('{"x": 1, "x": 2, "s": {"y": 1, "y": 2}}')).toHaveLength(2);
  });
});
