import { base64 } from "../encoding";

/**
 * RFC 8941 Structured Field Values, the parts HTTP Message Signatures need (RFC 9421 §4):
 * parsing Dictionaries and Items, and serialising Items, Inner Lists and Parameters (the
 * signature base re-serialises what the client sent, RFC 9421 §2.3).
 *
 * Parsing follows RFC 8941 §4.2 with one deliberate strictness: a key repeated in a Dictionary
 * or a parameter repeated on one item is refused instead of "the last one wins", so a
 * signature's metadata can never be read two ways. Failures are values, never exceptions.
 *
 * Why not the `structured-headers` library (2.1.0), measured: it covers what this needs, but it
 * keeps the last of a repeated key silently (an adapter has to count separators to refuse it),
 * reads `1.0` back as `1`, and the Worker grew by 1,768 bytes gzip with it (123,663 → 125,431),
 * most of the 2 KiB the code may grow by while it is restructured.
 */

/** A bare item (RFC 8941 §3.3); integers and decimals are kept apart so they re-serialise alike. */
export type BareItem =
  | { type: "integer"; value: number }
  | { type: "decimal"; value: number }
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "bytes"; value: Uint8Array }
  | { type: "boolean"; value: boolean };

/** Parameters in the order they were sent (RFC 8941 §3.1.2). */
export type Parameters = ReadonlyMap<string, BareItem>;

/** An Item with its parameters. */
export interface Item {
  kind: "item";
  value: BareItem;
  params: Parameters;
}

/** An Inner List with its parameters (RFC 8941 §3.1.1). */
export interface InnerList {
  kind: "inner-list";
  items: Item[];
  params: Parameters;
}

/** A Dictionary member value. */
export type Member = Item | InnerList;

/** A Dictionary in the order it was sent (RFC 8941 §3.2). */
export type Dictionary = ReadonlyMap<string, Member>;

/** A parse outcome. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses a Dictionary field value (RFC 8941 §4.2.2). */
export function parseDictionary(input: string): Parsed<Dictionary> {
  return run(input, (p) => p.dictionary());
}

/** Parses an Item field value (RFC 8941 §4.2.3). */
export function parseItem(input: string): Parsed<Item> {
  return run(input, (p) => p.item());
}

/** Serialises a bare item (RFC 8941 §4.1.3). */
export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case "integer":
      return String(item.value);
    case "decimal": {
      const text = (Math.round(item.value * 1000) / 1000).toFixed(3).replace(/0{1,2}$/, "");
      return text.endsWith(".") ? text + "0" : text;
    }
    case "string":
      return `"${item.value.replace(/[\\"]/g, (c) => "\\" + c)}"`;
    case "token":
      return item.value;
    case "bytes":
      return `:${base64(item.value)}:`;
    case "boolean":
      return item.value ? "?1" : "?0";
  }
}

/** Serialises parameters (RFC 8941 §4.1.1.2): `;name` for true, `;name=value` otherwise. */
export function serializeParams(params: Parameters): string {
  let out = "";
  for (const [name, value] of params) {
    out +=
      value.type === "boolean" && value.value ? `;${name}` : `;${name}=${serializeBareItem(value)}`;
  }
  return out;
}

/** Serialises an Item or an Inner List with its parameters (RFC 8941 §4.1.1.1, §4.1.3). */
export function serializeMember(member: Member): string {
  if (member.kind === "item")
    return serializeBareItem(member.value) + serializeParams(member.params);
  const items = member.items.map((item) => serializeMember(item)).join(" ");
  return `(${items})${serializeParams(member.params)}`;
}

class ParseError extends Error {}

function run<T>(input: string, parse: (p: Parser) => T): Parsed<T> {
  try {
    // Field values are ASCII (RFC 8941 §4.2, step 1); leading and trailing spaces are dropped.
    if (!/^[\x20-\x7e]*$/.test(input))
      throw new ParseError("contains a non-ASCII or control character");
    const parser = new Parser(input.replace(/^ +| +$/g, ""));
    const value = parse(parser);
    parser.end();
    return { ok: true, value };
  } catch (error) {
    if (error instanceof ParseError) return { ok: false, reason: error.message };
    throw error;
  }
}

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  end(): void {
    if (this.pos !== this.text.length) this.fail("unexpected trailing characters");
  }

  dictionary(): Map<string, Member> {
    const dict = new Map<string, Member>();
    while (this.pos < this.text.length) {
      const key = this.key();
      if (dict.has(key)) this.fail(`the key "${key}" appears twice`);
      if (this.peek() === "=") {
        this.pos++;
        dict.set(key, this.member());
      } else {
        dict.set(key, {
          kind: "item",
          value: { type: "boolean", value: true },
          params: this.params(),
        });
      }
      this.skip(/[ \t]/);
      if (this.pos === this.text.length) return dict;
      if (this.peek() !== ",") this.fail("expected a comma between members");
      this.pos++;
      this.skip(/[ \t]/);
      if (this.pos === this.text.length) this.fail("trailing comma");
    }
    return dict;
  }

  item(): Item {
    return { kind: "item", value: this.bareItem(), params: this.params() };
  }

  private member(): Member {
    return this.peek() === "(" ? this.innerList() : this.item();
  }

  private innerList(): InnerList {
    this.pos++; // "("
    const items: Item[] = [];
    for (;;) {
      this.skip(/ /);
      if (this.peek() === ")") {
        this.pos++;
        return { kind: "inner-list", items, params: this.params() };
      }
      items.push(this.item());
      const next = this.peek();
      if (next !== " " && next !== ")") this.fail("inner list items must be separated by spaces");
    }
  }

  private params(): Map<string, BareItem> {
    const params = new Map<string, BareItem>();
    while (this.peek() === ";") {
      this.pos++;
      this.skip(/ /);
      const key = this.key();
      if (params.has(key)) this.fail(`the parameter "${key}" appears twice`);
      let value: BareItem = { type: "boolean", value: true };
      if (this.peek() === "=") {
        this.pos++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  private key(): string {
    if (!KEY_START.test(this.peek())) this.fail("expected a key (lower-case letter or *)");
    const start = this.pos;
    while (this.pos < this.text.length && KEY_CHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private bareItem(): BareItem {
    const c = this.peek();
    if (c === "-" || /[0-9]/.test(c)) return this.number();
    if (c === '"') return this.string();
    if (c === ":") return this.bytes();
    if (c === "?") return this.boolean();
    if (/[A-Za-z*]/.test(c)) return this.token();
    return this.fail(c === "" ? "expected a value" : `unexpected character "${c}"`);
  }

  private number(): BareItem {
    const match = /^(-?)(\d+)(?:\.(\d+))?/.exec(this.text.slice(this.pos));
    if (!match) return this.fail("expected a digit");
    const [text, sign = "", whole = "", fraction] = match;
    if (fraction === undefined) {
      if (whole.length > 15) this.fail("integer has more than 15 digits");
      this.pos += text.length;
      return { type: "integer", value: Number(sign + whole) };
    }
    if (whole.length > 12 || fraction.length > 3) this.fail("decimal is too long");
    this.pos += text.length;
    return { type: "decimal", value: Number(text) };
  }

  private string(): BareItem {
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      const c = this.peek();
      if (c === "") this.fail("unterminated string");
      this.pos++;
      if (c === '"') return { type: "string", value: out };
      if (c === "\\") {
        const next = this.peek();
        if (next !== '"' && next !== "\\") this.fail("bad escape in string");
        out += next;
        this.pos++;
      } else {
        out += c;
      }
    }
  }

  private token(): BareItem {
    const start = this.pos++;
    while (this.pos < this.text.length && TOKEN_CHAR.test(this.peek())) this.pos++;
    return { type: "token", value: this.text.slice(start, this.pos) };
  }

  private bytes(): BareItem {
    const start = ++this.pos;
    while (this.pos < this.text.length && BASE64_CHAR.test(this.peek())) this.pos++;
    if (this.peek() !== ":") this.fail("unterminated byte sequence");
    const encoded = this.text.slice(start, this.pos++);
    if (encoded.length % 4 !== 0 || /=[^=]/.test(encoded) || /={3}/.test(encoded)) {
      this.fail("byte sequence is not base64");
    }
    const binary = atob(encoded);
    return { type: "bytes", value: Uint8Array.from(binary, (ch) => ch.charCodeAt(0)) };
  }

  private boolean(): BareItem {
    const c = this.text[this.pos + 1];
    if (c !== "0" && c !== "1") this.fail("a boolean is ?0 or ?1");
    this.pos += 2;
    return { type: "boolean", value: c === "1" };
  }

  private peek(): string {
    return this.text[this.pos] ?? "";
  }

  private skip(chars: RegExp): void {
    while (chars.test(this.peek())) this.pos++;
  }

  private fail(reason: string): never {
    throw new ParseError(`${reason} at character ${this.pos + 1}`);
  }
}
