/**
 * XML-RPC encoding and decoding for supervisord's `/RPC2` endpoint: pure functions, no I/O.
 * Wire format: the XML-RPC specification (xmlrpc.com/spec) as produced by Python's `xmlrpc.client.dumps`,
 * which supervisord uses for every response (supervisor/xmlrpc.py `xmlrpc_marshal`).
 */
import { XMLParser } from "fast-xml-parser";

/** A value that can travel over XML-RPC. `null` is `<nil/>` (an extension supervisord never sends). */
export type XmlRpcValue = string | number | boolean | null | XmlRpcValue[] | { [key: string]: XmlRpcValue };

/** A decoded `<methodResponse>`: either the single return value or a fault. */
export type XmlRpcResponse = { kind: "value"; value: XmlRpcValue } | { kind: "fault"; code: number; message: string };

/** The response body is not XML-RPC (truncated, HTML error page, unknown type tag). */
export class XmlRpcDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XmlRpcDecodeError";
  }
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** Escapes the three characters XML text cannot contain literally (`&`, `<`, `>`). */
function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Encodes one value as `<value>…</value>`. Integers in the 32-bit range become `<int>`, other numbers
 * `<double>`; plain objects become `<struct>`.
 * @throws RangeError for a non-finite number (XML-RPC has no NaN/Infinity).
 */
export function encodeValue(value: XmlRpcValue): string {
  if (value === null) return "<value><nil/></value>";
  if (typeof value === "string") return `<value><string>${escapeText(value)}</string></value>`;
  if (typeof value === "boolean") return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new RangeError(`XML-RPC cannot encode the number ${value}; expected a finite number`);
    if (Number.isInteger(value) && value >= INT_MIN && value <= INT_MAX) return `<value><int>${value}</int></value>`;
    return `<value><double>${value}</double></value>`;
  }
  if (Array.isArray(value)) return `<value><array><data>${value.map(encodeValue).join("")}</data></array></value>`;
  const members = Object.entries(value)
    .map(([name, member]) => `<member><name>${escapeText(name)}</name>${encodeValue(member)}</member>`)
    .join("");
  return `<value><struct>${members}</struct></value>`;
}

/** Encodes a complete `<methodCall>` document for `method` with positional `params`. */
export function encodeCall(method: string, params: readonly XmlRpcValue[] = []): string {
  const body = params.map((p) => `<param>${encodeValue(p)}</param>`).join("");
  return `<?xml version="1.0"?>\n<methodCall><methodName>${escapeText(method)}</methodName><params>${body}</params></methodCall>`;
}

// preserveOrder keeps every child as its own node, so repeated <value>/<member> never collapse into one
// key; entities are decoded below in one pass (the parser leaves numeric references untouched).
const parser = new XMLParser({
  preserveOrder: true,
  trimValues: false,
  parseTagValue: false,
  processEntities: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/** One node of the parser's ordered output: `{tag: children}` or `{"#text": text}`. */
type Node = Record<string, unknown>;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (whole, ref: string) => {
    if (ref[0] !== "#") return ENTITIES[ref] ?? whole;
    const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function tagOf(node: Node): string | undefined {
  return Object.keys(node).find((k) => k !== "#text" && k !== ":@");
}

/** Child elements of a node, whitespace text between them dropped. */
function elements(children: unknown): Array<{ tag: string; children: Node[] }> {
  const out: Array<{ tag: string; children: Node[] }> = [];
  for (const node of (children as Node[] | undefined) ?? []) {
    const tag = tagOf(node);
    if (tag !== undefined) out.push({ tag, children: node[tag] as Node[] });
  }
  return out;
}

/** Concatenated, entity-decoded text content of a node. */
function textOf(children: Node[]): string {
  return decodeEntities(children.map((n) => (n["#text"] === undefined ? "" : String(n["#text"]))).join(""));
}

function only(children: Node[], tag: string, where: string): Node[] {
  const found = elements(children).find((e) => e.tag === tag);
  if (!found) throw new XmlRpcDecodeError(`expected <${tag}> inside <${where}>, found ${describe(children)}`);
  return found.children;
}

function describe(children: Node[]): string {
  const tags = elements(children).map((e) => `<${e.tag}>`);
  return tags.length ? tags.join(", ") : "no element";
}

/** Decodes the children of one `<value>` element. An untyped `<value>text</value>` is a string (spec). */
function decodeValueNode(children: Node[]): XmlRpcValue {
  const typed = elements(children);
  if (typed.length === 0) return textOf(children);
  const { tag, children: inner } = typed[0];
  switch (tag) {
    case "string":
      return textOf(inner);
    case "int":
    case "i4":
    case "i8":
    case "double": {
      const text = textOf(inner).trim();
      const n = Number(text);
      if (text === "" || !Number.isFinite(n))
        throw new XmlRpcDecodeError(`expected a number in <${tag}>, found "${text}"`);
      return n;
    }
    case "boolean": {
      const text = textOf(inner).trim();
      if (text !== "0" && text !== "1") throw new XmlRpcDecodeError(`expected 0 or 1 in <boolean>, found "${text}"`);
      return text === "1";
    }
    case "nil":
      return null;
    case "array":
      return elements(only(inner, "data", "array"))
        .filter((e) => e.tag === "value")
        .map((e) => decodeValueNode(e.children));
    case "struct": {
      const result: { [key: string]: XmlRpcValue } = {};
      for (const member of elements(inner).filter((e) => e.tag === "member")) {
        const name = textOf(only(member.children, "name", "member"));
        // defineProperty: a member named "__proto__" becomes a plain property, never the prototype.
        Object.defineProperty(result, name, {
          value: decodeValueNode(only(member.children, "value", "member")),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return result;
    }
    default:
      throw new XmlRpcDecodeError(
        `unsupported XML-RPC type <${tag}>; expected string, int, i4, boolean, double, nil, array or struct`,
      );
  }
}

/**
 * Decodes a `<methodResponse>` body into its single value or its fault (`faultCode`, `faultString`).
 * @throws XmlRpcDecodeError when the body is not a well-formed XML-RPC response.
 */
export function decodeResponse(xml: string): XmlRpcResponse {
  let doc: Node[];
  try {
    doc = parser.parse(xml) as Node[];
  } catch (err) {
    throw new XmlRpcDecodeError(`response is not XML: ${(err as Error).message}`);
  }
  const root = elements(doc).find((e) => e.tag === "methodResponse");
  if (!root) throw new XmlRpcDecodeError(`expected <methodResponse>, found ${describe(doc)}: ${xml.slice(0, 200)}`);
  const body = elements(root.children)[0];
  if (body?.tag === "fault") {
    const fault = decodeValueNode(only(body.children, "value", "fault"));
    if (fault === null || typeof fault !== "object" || Array.isArray(fault)) {
      throw new XmlRpcDecodeError("expected a struct in <fault>");
    }
    return { kind: "fault", code: Number(fault.faultCode), message: String(fault.faultString ?? "") };
  }
  if (body?.tag === "params") {
    const param = only(body.children, "param", "params");
    return { kind: "value", value: decodeValueNode(only(param, "value", "param")) };
  }
  throw new XmlRpcDecodeError(`expected <params> or <fault> inside <methodResponse>, found ${describe(root.children)}`);
}
