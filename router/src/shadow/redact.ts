/**
 * What never leaves the router in a parity example or a capture file: credentials in headers
 * and password- or token-like fields in JSON bodies, replaced by `[redacted]`.
 */
export interface RedactRules {
  headers: ReadonlySet<string>;
  fields: RegExp;
}

const defaultRedactHeaders = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];
const defaultFieldPattern = 'pass(word)?|secret|token|api[-_]?key|authorization|card[-_]?number|cvv|cvc|pan';

/** Rules with the defaults plus `extra` header and field names (case-insensitive). */
export function redactRules(extra: { headers?: readonly string[]; fields?: readonly string[] } = {}): RedactRules {
  const fields = [defaultFieldPattern, ...(extra.fields ?? []).map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))];
  return {
    headers: new Set([...defaultRedactHeaders, ...(extra.headers ?? []).map((h) => h.toLowerCase())]),
    fields: new RegExp(`^(.*[-_])?(${fields.join('|')})([-_].*)?$`, 'i'),
  };
}

/** Headers (a flat list or parsed) as a plain record, credentials redacted, repeated fields joined. */
export function redactHeaders(
  headers: readonly string[] | Record<string, string | string[] | undefined>,
  rules: RedactRules,
): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: string) => {
    const lower = name.toLowerCase();
    const shown = rules.headers.has(lower) ? '[redacted]' : value;
    out[lower] = out[lower] === undefined ? shown : `${out[lower]}, ${shown}`;
  };
  if (Array.isArray(headers)) for (let i = 0; i < headers.length; i += 2) put(headers[i]!, headers[i + 1]!);
  else
    for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>))
      if (value !== undefined) put(name, Array.isArray(value) ? value.join(', ') : value);
  return out;
}

const snake = (name: string) => name.replace(/([a-z\d])([A-Z])/g, '$1_$2');

/**
 * Whether a field holds a secret: a part of its name (split at `-`, `_` and camelCase humps:
 * `accessToken`), or of its name joined to its parent's (`card.number`, as the payments API sends it).
 */
function secretField(key: string, parent: string | undefined, rules: RedactRules): boolean {
  if (rules.fields.test(key) || rules.fields.test(snake(key))) return true;
  return parent !== undefined && rules.fields.test(`${snake(parent)}_${snake(key)}`);
}

/** A JSON value with every password- or token-like field's value redacted, at any depth. */
export function redactJson(value: unknown, rules: RedactRules): unknown {
  const walk = (item: unknown, parent: string | undefined): unknown => {
    if (Array.isArray(item)) return item.map((each) => walk(each, parent));
    if (item === null || typeof item !== 'object') return item;
    const out: Record<string, unknown> = {};
    for (const [key, each] of Object.entries(item))
      out[key] = secretField(key, parent, rules) ? '[redacted]' : walk(each, key);
    return out;
  };
  return walk(value, undefined);
}

/** Differences as an example shows them: values of redacted fields redacted. */
export function redactPath(path: string, rules: RedactRules): boolean {
  // Names only: `$`, indices and `*` are not fields, so `$.cards[0].number` joins `cards` and `number`.
  const parts = path.split(/[.[\]]+/).filter((part) => part !== '' && !/^(\$|\*|\d+)$/.test(part));
  return parts.some((part, i) => secretField(part, parts[i - 1], rules));
}
