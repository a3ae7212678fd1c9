/**
 * The layout of the committed `router/flags.json`: two-space indentation, an object or array
 * holding only plain values on one line (`{ "rollout": "0", "stickiness": "userId" }`) when
 * that line fits in 120 columns, and a newline at the end. `ficus flags` writes the file this
 * way, so a change and its rollback leave the tracked file byte-identical and `git status` clean.
 */
export function formatFlagsFile(data: unknown): string {
  return `${formatValue(data, '', 0)}\n`;
}

const width = 120;

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** `prefix` is how much of the line precedes the value: its indentation and `"key": `. */
function formatValue(value: unknown, indent: string, prefix: number): string {
  if (!isContainer(value)) return JSON.stringify(value) ?? 'null';
  const array = Array.isArray(value);
  const entries: Array<[string | undefined, unknown]> = array
    ? (value as unknown[]).map((item) => [undefined, item])
    : Object.entries(value).filter(([, item]) => item !== undefined);
  const [open, close] = array ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}${close}`;
  const key = (name: string | undefined) => (name === undefined ? '' : `${JSON.stringify(name)}: `);
  if (!entries.some(([, item]) => isContainer(item))) {
    const items = entries.map(([name, item]) => `${key(name)}${JSON.stringify(item) ?? 'null'}`).join(', ');
    const line = array ? `[${items}]` : `{ ${items} }`;
    // The trailing comma a value in a list or object may carry counts too.
    if (prefix + line.length + 1 <= width) return line;
  }
  const inner = `${indent}  `;
  const lines = entries.map(([name, item]) => {
    const start = `${inner}${key(name)}`;
    return `${start}${formatValue(item, inner, start.length)}`;
  });
  return `${open}\n${lines.join(',\n')}\n${indent}${close}`;
}
