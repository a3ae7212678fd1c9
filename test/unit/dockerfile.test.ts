import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Docker cannot run where ficus is developed and tested, so the Dockerfile is checked against
 * the repository instead: every file or folder it copies from the build context (the
 * repository root, as docker-compose.yml builds it) must exist and must reach the context,
 * that is, not be left out by .dockerignore. A missing one fails `docker build`.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

/** The instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function instructions(text: string): Array<{ name: string; args: string }> {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => /^\s*(\w+)\s+(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => ({ name: match[1]!.toUpperCase(), args: match[2]!.trim() }));
}

/** The sources of the COPY and ADD instructions that read the build context (not `--from=` another stage). */
function contextSources(text: string): string[] {
  return instructions(text)
    .filter(({ name }) => name === 'COPY' || name === 'ADD')
    .flatMap(({ args }) => {
      const flags = /^(?:--\S+\s+)*/.exec(args)![0];
      if (/(?:^|\s)--from=/.test(flags)) return [];
      const rest = args.slice(flags.length);
      const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
      // The last word is the destination.
      return words.slice(0, -1);
    })
    .filter((source) => !/^https?:\/\//.test(source));
}

/**
 * Whether .dockerignore leaves `path` out of the build context. As Docker reads it: a pattern
 * matches a path or any folder above it; `*` and `?` stay within a path segment, `**` spans
 * any number; a `!` pattern brings paths back; the last matching pattern decides.
 */
function ignoredBy(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const glob = (negated ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negated, regex: globRegex(glob) };
    });
  const segments = path.replace(/^\.\/|\/$/g, '').split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const { negated, regex } of patterns) {
    if (candidates.some((candidate) => regex.test(candidate))) ignored = !negated;
  }
  return ignored;
}

function globRegex(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all.
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');
const sources = contextSources(dockerfile);

describe('the Dockerfile', () => {
  it('copies the package manifests and the source folders from the build context', () => {
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'platform', 'monolith']));
  });

  it('runs built JavaScript in its last stage, which installs no development dependencies', () => {
    const last = instructions(dockerfile).slice(instructions(dockerfile).findLastIndex(({ name }) => name === 'FROM'));
    expect(
      last
        .filter(({ name }) => name === 'RUN')
        .map(({ args }) => args)
        .join('\n'),
    ).toContain('npm ci --omit=dev');
    expect(last.find(({ name }) => name === 'CMD')?.args).not.toMatch(/tsx|\.ts\b/);
  });

  it.each(sources)('copies %s, which exists and .dockerignore lets into the build context', (source) => {
    const matches = globSync(source, { cwd: root });
    expect(matches, `${source} is not in the repository`).not.toEqual([]);
    for (const match of matches) {
      expect(ignoredBy(dockerignore, match), `.dockerignore leaves ${match} out`).toBe(false);
    }
  });
});

describe('reading a Dockerfile and .dockerignore', () => {
  it('takes the sources of COPY and ADD, in both forms, and skips copies from another stage', () => {
    const text = [
      '# COPY commented ./out',
      'FROM node:24 AS build',
      'COPY --chown=node:node a b \\',
      '  ./dest/',
      'COPY --from=build /app/dist ./dist',
      'ADD --chmod=644 ["c d", "e", "/x/"]',
      'copy f ./',
      'ADD https://example.com/file.tgz /tmp/',
    ].join('\n');
    expect(contextSources(text)).toEqual(['a', 'b', 'c d', 'e', 'f']);
  });

  it('leaves out what a pattern or a folder above it matches, and brings back `!` exceptions', () => {
    const ignore = 'node_modules\n/.data/\n*.log\n**/secret\ndocs/*\n!docs/keep.md\n# test\n';
    expect(ignoredBy(ignore, 'node_modules/x/index.js')).toBe(true);
    expect(ignoredBy(ignore, '.data')).toBe(true);
    expect(ignoredBy(ignore, 'server.log')).toBe(true);
    expect(ignoredBy(ignore, 'logs/server.log')).toBe(false);
    expect(ignoredBy(ignore, 'secret')).toBe(true);
    expect(ignoredBy(ignore, 'a/b/secret/key')).toBe(true);
    expect(ignoredBy(ignore, 'docs/router.md')).toBe(true);
    expect(ignoredBy(ignore, 'docs/keep.md')).toBe(false);
    expect(ignoredBy(ignore, 'test/unit/a.test.ts')).toBe(false);
    expect(ignoredBy(ignore, 'platform')).toBe(false);
  });
});
