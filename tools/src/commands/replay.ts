import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger, FicusError, parseByteSize } from '../../../platform/src/index.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { inlineComparator, workerComparator } from '../../../router/src/shadow/comparator.js';
import { formatRouteParity } from '../parity/format.js';
import { countExchanges, readExchanges } from '../replay/read-exchanges.js';
import { replay } from '../replay/replay.js';

type Env = Record<string, string | undefined>;

interface ReplayCommandOptions {
  candidate: URL;
  primary?: URL;
  rate?: number;
  concurrency: number;
  timeout: number;
  bodyLimit: number;
  threads: number;
  routes: string;
  header: Array<[string, string]>;
  json?: boolean;
}

const positive = (what: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError(`Use a whole number above 0 for ${what}.`);
  return number;
};

const url = (value: string) => {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
    return parsed;
  } catch {
    throw new InvalidArgumentError('Use an http:// or https:// URL such as http://127.0.0.1:4001.');
  }
};

/** `ficus replay`: captured or HAR traffic replayed on a candidate, compared as the live mirror compares. */
export function replayCommand(
  env: Env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  progress: NodeJS.WriteStream = process.stderr,
): Command {
  return new Command('replay')
    .description('replay a capture (SHADOW_CAPTURE_FILE) or a HAR 1.2 file on a candidate and report parity')
    .argument('<file>', 'capture file (JSON lines) or .har')
    .requiredOption('--candidate <url>', 'the upstream to compare (e.g. the extracted service)', url)
    .option(
      '--primary <url>',
      'ask the serving upstream again per idempotent request, to learn noise (recommended)',
      url,
    )
    .option('--rate <n>', 'requests per second at most', positive('--rate'))
    .option('--concurrency <n>', 'requests in flight at once', positive('--concurrency'), 32)
    .option('--timeout <ms>', 'longest wait for an answer', positive('--timeout'), 5000)
    .option(
      '--body-limit <size>',
      'bytes of a body compared whole (larger: length and hash)',
      (value) => {
        const size = parseByteSize(value);
        if (size === undefined) throw new InvalidArgumentError('Use a size such as 1mb or 65536.');
        return size;
      },
      1024 * 1024,
    )
    .option('--threads <n>', 'comparison worker threads (0: on the main thread)', (v) => Number.parseInt(v, 10), 0)
    .option('--routes <file>', 'route table with the shadow rules', env['ROUTES_FILE'] ?? 'router/routes.yaml')
    .option(
      '--header <name:value>',
      'set a header on every replayed request, e.g. credentials the capture redacted (repeatable)',
      (value: string, previous: Array<[string, string]>) => {
        const at = value.indexOf(':');
        if (at <= 0) throw new InvalidArgumentError('Use name:value, such as --header "authorization: Bearer ..."');
        return [...previous, [value.slice(0, at).trim(), value.slice(at + 1).trim()] as [string, string]];
      },
      [] as Array<[string, string]>,
    )
    .option('--json', 'the report as JSON')
    .addHelpText(
      'after',
      [
        '',
        "Each exchange's recorded response is the primary answer; the candidate is asked now, and with --primary the",
        'serving upstream is asked again, so fields that change on their own (ids, timestamps) are learned as noise just',
        'as live shadow traffic learns them. Rules (ignore, tolerance, unordered, headers) come from the route table, by',
        "the capture's route id or, for HAR, by matching the path. Captures are redacted (credentials, token-like fields):",
        'pass what the candidate needs with --header.',
        '',
        'Examples:',
        '  npx ficus replay .data/capture.jsonl --candidate http://127.0.0.1:4001 --primary http://127.0.0.1:3000',
        '  npx ficus replay session.har --candidate http://127.0.0.1:4001 --rate 200 --json',
      ].join('\n'),
    )
    .action(async (file: string, options: ReplayCommandOptions) => {
      if (!existsSync(file))
        throw new FicusError('FICUS_ERR_CONFIG', `${file}: no such file; give a capture file or a .har`);
      const table = existsSync(options.routes) ? loadRouteTable(options.routes, env) : undefined;
      const total = await countExchanges(file);
      const comparator =
        options.threads > 0
          ? workerComparator({ threads: options.threads, maxQueue: 4 * options.concurrency })
          : inlineComparator();
      const tty = progress.isTTY;
      let last = 0;
      const started = performance.now();
      const result = await replay(readExchanges(file), {
        candidate: options.candidate,
        primary: options.primary,
        rate: options.rate,
        concurrency: options.concurrency,
        timeoutMs: options.timeout,
        bodyLimit: options.bodyLimit,
        table,
        headers: options.header,
        comparator,
        logger: createLogger({ level: 'warn', name: 'replay' }),
        onProgress: (done, counts) => {
          const now = performance.now();
          if (!tty || (now - last < 250 && done !== total)) return;
          last = now;
          const rate = Math.round(done / ((now - started) / 1000));
          progress.write(
            `\rreplayed ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}  ${rate.toLocaleString('en-US')}/s  differ ${counts.differ}  failed ${counts.failed}   `,
          );
        },
      }).finally(() => comparator.close());
      if (tty) progress.write('\n');
      const rate = result.seconds > 0 ? Math.round(result.replayed / result.seconds) : result.replayed;
      if (options.json)
        return out(
          JSON.stringify(
            {
              file,
              replayed: result.replayed,
              seconds: result.seconds,
              comparisonsPerSecond: rate,
              routes: result.report,
            },
            null,
            2,
          ),
        );
      out(
        `replayed ${result.replayed.toLocaleString('en-US')} exchanges from ${file} in ${result.seconds.toFixed(1)} s: ${rate.toLocaleString('en-US')} comparisons/s`,
      );
      for (const report of result.report) for (const line of formatRouteParity(report)) out(line);
    });
}
