import { InvalidArgumentError } from 'commander';

const units = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `1h`, `7d`: a duration (s, m, h, d) in milliseconds; anything else is a usage error. */
export function parseDuration(value: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('Use a duration such as 30m, 1h or 7d.');
  return Number(match[1]) * units[match[2] as keyof typeof units];
}

/** `--since 1h`: a duration back from now as ms since the epoch. */
export function parseSince(value: string, now = Date.now()): number {
  return now - parseDuration(value);
}
