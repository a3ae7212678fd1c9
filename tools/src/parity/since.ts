import { InvalidArgumentError } from 'commander';

/** `--since 1h`: a duration back from now (s, m, h, d) as ms since the epoch. */
export function parseSince(value: string, now = Date.now()): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('Use a duration such as 30m, 1h or 7d.');
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return now - Number(match[1]) * unit;
}
