import { describe, expect, it } from "vitest";
import {
  formatRanges,
  inRanges,
  intersectRanges,
  mergeRanges,
  parseRange,
  parseRanges,
  portsIn,
  rangeSize,
} from "../../src/model/port-ranges";

const r = (low: number, high = low) => ({ low, high });

describe("parseRange", () => {
  it.each([
    ["8000-8100", r(8000, 8100)],
    ["6000", r(6000)],
    [6000, r(6000)],
    [" 8000 - 8100 ", r(8000, 8100)],
    ["1-65535", r(1, 65535)],
    ["65535", r(65535)],
    ["8000-8000", r(8000)],
  ] as const)("%j → %j", (input, expected) => {
    expect(parseRange(input)).toEqual(expected);
  });

  it.each([
    ["8100-8000", '"8100-8000"'],
    ["0", '"0"'],
    ["0-10", '"0-10"'],
    ["65536", '"65536"'],
    ["1-70000", '"1-70000"'],
    ["", '""'],
    ["abc", '"abc"'],
    ["80-", '"80-"'],
    ["-80", '"-80"'],
    ["80-90-100", '"80-90-100"'],
    ["+80", '"+80"'],
    [0, "0"],
    [70000, "70000"],
    [80.5, "80.5"],
    [-1, "-1"],
    [Number.NaN, "NaN"],
  ] as const)("rejects %j", (input, found) => {
    expect(() => parseRange(input)).toThrow(`expected LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, found ${found}`);
  });
});

describe("parseRanges", () => {
  it("accepts one value or a list, keeping the order written", () => {
    expect(parseRanges("8000-8100")).toEqual([r(8000, 8100)]);
    expect(parseRanges(6000)).toEqual([r(6000)]);
    expect(parseRanges(["8001-8009", 3000, "6000"])).toEqual([r(8001, 8009), r(3000), r(6000)]);
    expect(parseRanges([])).toEqual([]);
  });
  it("names the bad item", () => {
    expect(() => parseRanges(["3000", "x"])).toThrow('found "x" (item 1)');
  });
});

describe("inRanges", () => {
  const ranges = [r(8001, 8009), r(3000, 4000), r(6000)];
  it.each([
    [8001, true],
    [8009, true],
    [8010, false],
    [3500, true],
    [6000, true],
    [6001, false],
    [2999, false],
  ])("%i → %s", (port, expected) => {
    expect(inRanges(port, ranges)).toBe(expected);
  });
  it("is false for no ranges", () => expect(inRanges(80, [])).toBe(false));
});

describe("formatRanges", () => {
  it.each([
    [[r(3000, 4000), r(6000), r(8001, 8009)], "3000-4000, 6000, 8001-8009"],
    [[r(80)], "80"],
    [[], ""],
  ])("%j → %s", (ranges, expected) => {
    expect(formatRanges(ranges)).toBe(expected);
  });
  it("round-trips through parseRanges", () => {
    const text = "3000-4000, 6000, 8001-8009";
    expect(formatRanges(parseRanges(text.split(", ")))).toBe(text);
  });
});

describe("mergeRanges / intersectRanges / rangeSize", () => {
  it.each([
    [[r(8005, 8020), r(8000, 8010), r(8021)], [r(8000, 8021)]],
    [[r(10, 20), r(12, 15)], [r(10, 20)]],
    [
      [r(30), r(10, 20), r(22)],
      [r(10, 20), r(22), r(30)],
    ],
    [[], []],
  ])("merge %j → %j", (input, expected) => {
    expect(mergeRanges(input)).toEqual(expected);
  });
  it("does not change its input", () => {
    const input = [r(10, 20), r(15, 30)];
    mergeRanges(input);
    expect(input).toEqual([r(10, 20), r(15, 30)]);
  });
  it.each([
    [[r(8000, 8100)], [r(8050, 9000)], [r(8050, 8100)]],
    [[r(1, 100), r(200, 300)], [r(50, 250)], [r(50, 100), r(200, 250)]],
    [[r(1, 10)], [r(20, 30)], []],
    [[r(1, 10)], [r(10)], [r(10)]],
  ])("intersect %j ∩ %j → %j", (a, b, expected) => {
    expect(intersectRanges(a, b)).toEqual(expected);
  });
  it.each([
    [r(8000, 8100), 101],
    [r(6000), 1],
    [[r(8000, 8100), r(8050, 8200)], 201],
    [[r(1, 65535), r(80)], 65535],
    [[], 0],
  ])("size of %j is %i", (input, expected) => {
    expect(rangeSize(input)).toBe(expected);
  });
});

describe("portsIn", () => {
  it("yields ascending, each port once", () => {
    expect([...portsIn([r(8005, 8007), r(8000, 8002), r(8006, 8008), r(8001)])]).toEqual([
      8000, 8001, 8002, 8005, 8006, 8007, 8008,
    ]);
  });
  it("is lazy over the whole port space", () => {
    const it = portsIn([r(1, 65535)]);
    expect(it.next().value).toBe(1);
    expect(it.next().value).toBe(2);
  });
});
