import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { FicusError } from '../../../platform/src/index.js';
import type { CapturedExchange } from '../../../router/src/shadow/capture.js';

const headerRecord = z.record(z.string(), z.string());
const captureLineSchema = z.object({
  v: z.literal(1),
  at: z.string(),
  route: z.string(),
  method: z.string().min(1),
  path: z.string().startsWith('/'),
  headers: headerRecord,
  body: z.string().optional(),
  response: z.object({
    upstream: z.string(),
    status: z.number().int(),
    headers: headerRecord,
    body: z.string().optional(),
    length: z.number().int().nonnegative(),
    sha256: z.string().optional(),
  }),
});

const harHeaders = z.array(z.object({ name: z.string(), value: z.string() })).default([]);
const harSchema = z.object({
  log: z.object({
    version: z.string().optional(),
    entries: z.array(
      z.object({
        startedDateTime: z.string().optional(),
        request: z.object({
          method: z.string().min(1),
          url: z.string(),
          headers: harHeaders,
          postData: z.object({ mimeType: z.string().optional(), text: z.string().optional() }).optional(),
        }),
        response: z.object({
          status: z.number().int(),
          headers: harHeaders,
          content: z.object({
            size: z.number().optional(),
            mimeType: z.string().optional(),
            text: z.string().optional(),
            encoding: z.string().optional(),
          }),
        }),
      }),
    ),
  }),
});

function problem(file: string, where: string, error: z.ZodError | Error): FicusError {
  const detail =
    error instanceof z.ZodError
      ? error.issues.map((issue) => `${issue.path.join('.') || '(line)'}: ${issue.message}`).join('; ')
      : error.message;
  return new FicusError(
    'FICUS_ERR_CONFIG',
    `${file}${where}: not a ficus capture line nor a HAR 1.2 file (${detail}); record one with SHADOW_CAPTURE_FILE on the router, or export HAR from the browser's network panel`,
  );
}

/** HAR headers as a record: lower-case names, pseudo-headers (`:authority`) left out, repeats joined. */
function harRecord(headers: Array<{ name: string; value: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of headers) {
    if (name.startsWith(':')) continue;
    const lower = name.toLowerCase();
    out[lower] = out[lower] === undefined ? value : `${out[lower]}, ${value}`;
  }
  return out;
}

/** A HAR 1.2 entry as a captured exchange; the route is found later from the path. */
function fromHar(entry: z.output<typeof harSchema>['log']['entries'][number]): CapturedExchange {
  const url = new URL(entry.request.url, 'http://har.invalid');
  const responseHeaders = harRecord(entry.response.headers);
  // HAR holds the body decoded: its content-encoding no longer applies.
  delete responseHeaders['content-encoding'];
  const { content } = entry.response;
  const body =
    content.text === undefined
      ? undefined
      : content.encoding === 'base64'
        ? content.text
        : Buffer.from(content.text).toString('base64');
  const length = body === undefined ? (content.size ?? 0) : Buffer.from(body, 'base64').length;
  const text = entry.request.postData?.text;
  return {
    v: 1,
    at: entry.startedDateTime ?? new Date(0).toISOString(),
    route: '',
    method: entry.request.method.toUpperCase(),
    path: url.pathname + url.search,
    headers: harRecord(entry.request.headers),
    ...(text === undefined ? {} : { body: Buffer.from(text).toString('base64') }),
    response: {
      upstream: 'har',
      status: entry.response.status,
      headers: responseHeaders,
      ...(body === undefined ? {} : { body }),
      length,
    },
  };
}

async function startsLikeHar(file: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8').trimStart();
    return head.startsWith('{') && /^\{\s*"log"\s*:/.test(head);
  } finally {
    await handle.close();
  }
}

/** Counts the exchanges of a file, for progress (a capture: its lines; a HAR: its entries). */
export async function countExchanges(file: string): Promise<number> {
  let count = 0;
  for await (const _ of readExchanges(file)) count++;
  return count;
}

/**
 * The exchanges of a ficus capture file (JSON lines, read as a stream) or of a HAR 1.2 file
 * (browser devtools, proxies), one at a time. A line or entry that does not parse fails with its place.
 */
export async function* readExchanges(file: string): AsyncGenerator<CapturedExchange> {
  let har: boolean;
  try {
    har = await startsLikeHar(file);
  } catch (error) {
    throw new FicusError('FICUS_ERR_CONFIG', `${file}: ${(error as Error).message}`, { cause: error });
  }
  if (har) {
    const { readFile } = await import('node:fs/promises');
    let parsed: z.output<typeof harSchema>;
    try {
      parsed = harSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (error) {
      throw problem(file, '', error as Error);
    }
    for (const entry of parsed.log.entries) yield fromHar(entry);
    return;
  }
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    let exchange: CapturedExchange;
    try {
      exchange = captureLineSchema.parse(JSON.parse(line)) as CapturedExchange;
    } catch (error) {
      lines.close();
      throw problem(file, `:${number}`, error as Error);
    }
    yield exchange;
  }
}
