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

/** A JSON value with every password- or token-like field's value redacted, at any depth. */
export function redactJson(value: unknown, rules: RedactRules): unknown {
  if (Array.isArray(value)) return value.map((item) => redactJson(item, rules));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    out[key] = rules.fields.test(key) ? '[redacted]' : redactJson(item, rules);
  return out;
}

/** Differences as an example shows them: values of redacted fields redacted. */
export function redactPath(path: string, rules: RedactRules): boolean {
  return path.split(/[.[\]]+/).some((part) => part !== '' && rules.fields.test(part));
}
