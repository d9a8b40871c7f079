/*
 * jsonpos — parse JSON text keeping where each value is, and find the value a FHIRPath
 * expression from an OperationOutcome points at.
 *
 * Why not JSON.parse: it forgets positions (we need the line to highlight) and turns
 * 132.50 into 132.5 (FHIR decimals keep their precision, so "Format" must not change them).
 * The tree keeps the raw text of every scalar; format() writes it back verbatim.
 */
(function (global) {
  "use strict";

  class JsonSyntaxError extends Error {
    constructor(message, offset, line, col) {
      super(message + " at line " + line + ", column " + col);
      this.offset = offset;
      this.line = line;
      this.col = col;
    }
  }

  /** Parse text into nodes {kind, start, line, keyLine, raw?, value?, entries?/items?}. */
  function parse(text) {
    let i = 0;
    let line = 1;
    let lineStart = 0;

    function fail(message) {
      throw new JsonSyntaxError(message, i, line, i - lineStart + 1);
    }

    function skipSpace() {
      for (;;) {
        const c = text.charCodeAt(i);
        if (c === 10) { line++; i++; lineStart = i; }
        else if (c === 32 || c === 9 || c === 13) { i++; }
        else { return; }
      }
    }

    function parseString() {
      const start = i;
      i++; // opening quote
      let simple = true;
      for (;;) {
        const c = text.charCodeAt(i);
        if (Number.isNaN(c)) { fail("unterminated string"); }
        if (c === 34) { break; }
        if (c === 92) { simple = false; i += 2; continue; }
        if (c === 10) { fail("line break inside a string"); }
        i++;
      }
      i++; // closing quote
      const raw = text.slice(start, i);
      let value;
      try { value = simple ? raw.slice(1, -1) : JSON.parse(raw); }
      catch (e) { i = start; fail("bad escape in string"); }
      return { raw: raw, value: value };
    }

    function parseValue(keyLine) {
      skipSpace();
      const here = { start: i, line: line, keyLine: keyLine || line };
      const c = text[i];
      if (c === "{") {
        i++;
        here.kind = "object";
        here.entries = new Map();
        skipSpace();
        if (text[i] === "}") { i++; return here; }
        for (;;) {
          skipSpace();
          if (text[i] !== '"') { fail("expected a property name in double quotes"); }
          const propLine = line;
          const key = parseString().value;
          if (here.entries.has(key)) { fail("duplicate property \"" + key + "\""); }
          skipSpace();
          if (text[i] !== ":") { fail("expected ':' after property name"); }
          i++;
          here.entries.set(key, parseValue(propLine));
          skipSpace();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "}") { i++; return here; }
          fail("expected ',' or '}'");
        }
      }
      if (c === "[") {
        i++;
        here.kind = "array";
        here.items = [];
        skipSpace();
        if (text[i] === "]") { i++; return here; }
        for (;;) {
          here.items.push(parseValue());
          skipSpace();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "]") { i++; return here; }
          fail("expected ',' or ']'");
        }
      }
      if (c === '"') {
        const s = parseString();
        here.kind = "string";
        here.raw = s.raw;
        here.value = s.value;
        return here;
      }
      const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!m) { fail(c === undefined ? "unexpected end of the text" : "unexpected character '" + c + "'"); }
      here.raw = m[1];
      here.kind = /^[-\d]/.test(m[1]) ? "number" : (m[1] === "null" ? "null" : "boolean");
      i += m[1].length;
      return here;
    }

    const root = parseValue();
    skipSpace();
    if (i < text.length) { fail("unexpected text after the JSON value"); }
    return root;
  }

  /** Pretty-print a parsed tree, writing every scalar exactly as it was written. */
  function format(node, indent) {
    const pad = indent || "";
    const inner = pad + "  ";
    if (node.kind === "object") {
      if (node.entries.size === 0) { return "{}"; }
      const parts = [];
      node.entries.forEach(function (child, key) {
        parts.push(inner + JSON.stringify(key) + ": " + format(child, inner));
      });
      return "{\n" + parts.join(",\n") + "\n" + pad + "}";
    }
    if (node.kind === "array") {
      if (node.items.length === 0) { return "[]"; }
      return "[\n" + node.items.map(function (c) { return inner + format(c, inner); }).join(",\n") + "\n" + pad + "]";
    }
    return node.raw;
  }

  /** Split a FHIRPath expression into top-level steps: "a.b[2].ofType(X)" -> [a, b[2], ofType(X)]. */
  function steps(expression) {
    const text = expression.replace(/\/\*[\s\S]*?\*\//g, "");
    const out = [];
    let depth = 0;
    let quote = null;
    let current = "";
    for (const ch of text) {
      if (quote) {
        current += ch;
        if (ch === quote) { quote = null; }
      } else if (ch === "'" || ch === '"') {
        quote = ch;
        current += ch;
      } else if (ch === "(" || ch === "[") {
        depth++;
        current += ch;
      } else if (ch === ")" || ch === "]") {
        depth--;
        current += ch;
      } else if (ch === "." && depth === 0) {
        out.push(current.trim());
        current = "";
      } else {
        current += ch;
      }
    }
    if (current.trim()) { out.push(current.trim()); }
    return out;
  }

  function firstItem(node) {
    return node && node.kind === "array" ? node.items[0] : node;
  }

  function stringProp(node, key) {
    const child = node && node.kind === "object" ? node.entries.get(key) : undefined;
    return child && child.kind === "string" ? child.value : undefined;
  }

  /** The elements of an array (or a single node) whose `key` equals value. */
  function filterBy(node, key, value) {
    const items = node.kind === "array" ? node.items : [node];
    const hit = items.find(function (item) { return stringProp(item, key) === value; });
    return hit;
  }

  /** Property `name` of an object, or of the first element of an array; a choice name
   * like `onset` also finds `onsetDateTime`. Returns [node, actualKey]. */
  function child(node, name) {
    const obj = firstItem(node);
    if (!obj || obj.kind !== "object") { return [undefined, name]; }
    if (obj.entries.has(name)) { return [obj.entries.get(name), name]; }
    for (const key of obj.entries.keys()) {
      if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length])) {
        return [obj.entries.get(key), key];
      }
    }
    return [undefined, name];
  }

  /**
   * Find the node a FHIRPath expression points at. Walks as far as it can; returns
   * {node, matched, complete}: the deepest node found, the steps that matched, and whether
   * every step did (a partial match still gives the nearest enclosing element's line).
   */
  function locate(root, expression) {
    const parts = steps(expression);
    let node = root;
    let parent = null;
    let lastKey = null;
    let matched = 0;
    const rootType = stringProp(root, "resourceType");
    if (parts.length && (parts[0] === rootType || /^[A-Z][A-Za-z]+$/.test(parts[0]))) {
      matched = 1;
    }
    for (let k = matched; k < parts.length; k++) {
      const step = parts[k];
      let m;
      let next;
      if ((m = /^ofType\((\w+)\)$/.exec(step)) || (m = /^as\((\w+)\)$/.exec(step))) {
        const type = m[1];
        if (parent && lastKey) {
          const choice = child(parent, lastKey.replace(/\[x\]$/, "") + type[0].toUpperCase() + type.slice(1))[0];
          if (choice) { node = choice; }
        }
        matched++;
        continue;
      }
      if ((m = /^where\(\s*(\w+)\s*=\s*['"](.*)['"]\s*\)$/.exec(step))) {
        next = filterBy(node, m[1], m[2]);
      } else if ((m = /^extension\(\s*['"](.*)['"]\s*\)$/.exec(step))) {
        const ext = child(node, "extension")[0];
        next = ext ? filterBy(ext, "url", m[1]) : undefined;
        lastKey = "extension";
      } else if ((m = /^([A-Za-z_][\w]*(?:\[x\])?)((?:\[\d+\])*)$/.exec(step))) {
        const found = child(node, m[1].replace(/\[x\]$/, ""));
        next = found[0];
        parent = node;
        lastKey = found[1];
        const indexes = m[2].match(/\d+/g) || [];
        for (const index of indexes) {
          if (!next) { break; }
          next = next.kind === "array" ? next.items[Number(index)] : (index === "0" ? next : undefined);
        }
      } else if (/^(first|resolve|single)\(\)$/.test(step)) {
        next = step === "first()" ? firstItem(node) : node;
      }
      if (!next) { return { node: node, matched: matched, complete: false }; }
      node = next;
      matched++;
    }
    return { node: node, matched: matched, complete: true };
  }

  global.JsonPos = { parse: parse, format: format, locate: locate, steps: steps, JsonSyntaxError: JsonSyntaxError };
})(window);
