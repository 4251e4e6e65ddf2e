/** editJsonText: only what changed is rewritten; the rest of the hand-written manifest stays byte for byte. */
import { describe, expect, it } from "vitest";
import { changedPaths, editJsonText } from "../../src/manifest/edit";

const text = `{
    "$schema": "./manifest.schema.json",
    "project": "demo",
    "ports": { "avoid": [5000, 7000], "reserved": { "8083": "keep" } },
    "services": {
        "api": { "port": 8001, "command": ["/usr/bin/node", "api.js"], "dependsOn": ["db"] },
        "db":  { "port": 8002, "command": "db --port {port}" }
    }
}
`;
const before = JSON.parse(text);

function edit(change: (m: any) => void): { edited: string; after: any } {
  const after = structuredClone(before);
  change(after);
  const edited = editJsonText(text, before, after);
  expect(JSON.parse(edited)).toEqual(after);
  return { edited, after };
}

describe("editJsonText", () => {
  it("adds a service without touching the other lines", () => {
    const { edited } = edit((m) => (m.services.quotes = { group: "core", port: 8003, command: "q" }));
    for (const line of text.trimEnd().split("\n").slice(0, 6)) expect(edited).toContain(line);
    expect(edited).toContain('"db":  { "port": 8002, "command": "db --port {port}" }');
    expect(edited).toMatch(/\n {8}"quotes": \{/); // the file's own 4-space indentation, one level deeper
  });

  it("changes one value in place and removes keys", () => {
    const { edited } = edit((m) => {
      m.services.api.port = 8009;
      delete m.ports.reserved["8083"];
      delete m.services.db;
      m.services.api.dependsOn = [];
    });
    expect(edited).toContain('"avoid": [5000, 7000]');
    expect(edited).toContain('"port": 8009, "command": ["/usr/bin/node", "api.js"]');
    expect(edited).not.toContain('"db":');
  });

  it("keeps tabs and CRLF", () => {
    const tabbed = '{\r\n\t"services": {\r\n\t\t"a": { "port": 1 }\r\n\t}\r\n}\r\n';
    const b = JSON.parse(tabbed);
    const a = { services: { a: { port: 1 }, b: { port: 2 } } };
    const edited = editJsonText(tabbed, b, a);
    expect(JSON.parse(edited)).toEqual(a);
    expect(edited).toContain('\r\n\t\t"a": { "port": 1 }');
    expect(edited).toMatch(/\r\n\t\t"b": \{/);
  });

  it("lists the changed paths, removals as undefined", () => {
    expect(changedPaths({ a: { x: 1, y: 2 }, b: 1 }, { a: { x: 1, z: 3 }, b: 1 })).toEqual([
      [["a", "y"], undefined],
      [["a", "z"], 3],
    ]);
  });
});

describe("editJsonText property", () => {
  it("any edit of any object, from any formatting, parses to exactly the new object", async () => {
    const fc = (await import("fast-check")).default;
    const key = fc.stringMatching(/^[a-z_]{1,6}$/);
    const leaf = fc.oneof(
      fc.integer(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.dictionary(key, fc.oneof({ depthSize: "small" }, leaf, tie("tree")), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(tree, tree, fc.constantFrom(0, 2, 4, "\t"), (before, after, indent) => {
        const text = JSON.stringify(before, null, indent) + "\n";
        expect(JSON.parse(editJsonText(text, before, after))).toEqual(after);
      }),
      { numRuns: 400 },
    );
  });
});
