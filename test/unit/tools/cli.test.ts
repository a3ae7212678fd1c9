import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { routerConfigSchema } from '../../../router/src/config.js';
import { main } from '../../../tools/src/cli.js';
import { captureCliOutput } from '../../kit/cli.js';
import { starterFiles, starterText } from '../../kit/starter.js';

/** `main` in this process, its output captured: exit codes and messages as a user sees them. */
const cli = captureCliOutput();

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

const ficus = (...args: string[]) => main(['node', 'ficus', ...args], {});

/** The starter's flags file and route table in a folder of their own, and the options pointing `ficus flags` at them. */
async function flagsCopy() {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-cli-'));
  made.push(dir);
  const flags = join(dir, 'flags.json');
  await writeFile(flags, starterText(starterFiles.flags));
  await writeFile(join(dir, 'routes.yaml'), starterText(starterFiles.routes));
  const args = ['--routes', join(dir, 'routes.yaml'), '--flags', flags];
  return { flags, audit: join(dir, 'flags-audit.jsonl'), args };
}

describe('ficus usage errors', () => {
  it.each([
    [['deploy'], "unknown command 'deploy'", 'ficus'],
    [['dev', '--bogus'], "unknown option '--bogus'", 'ficus dev'],
    [['boundaries', '--format', 'nope'], "argument 'nope' is invalid. Allowed choices are human", 'ficus boundaries'],
    [['boundaries', '--bogus'], "unknown option '--bogus'", 'ficus boundaries'],
    [['boundaries', 'graph', '--format', 'svg'], "argument 'svg' is invalid", 'ficus boundaries graph'],
    // A command that only groups others prints its help, no hint.
    [['flags'], 'Usage: ficus flags', undefined],
    [['flags', 'nope'], "unknown command 'nope'", 'ficus flags'],
    [['flags', 'status', '--bogus'], "unknown option '--bogus'", 'ficus flags status'],
    [['flags', 'set', '--stage', 'canary'], "missing required argument 'route'", 'ficus flags set'],
    [['flags', 'set', 'catalog-read'], "required option '--stage <stage>' not specified", 'ficus flags set'],
    [
      ['flags', 'set', 'catalog-read', '--stage', 'bogus'],
      "argument 'bogus' is invalid. Allowed choices",
      'ficus flags set',
    ],
    [
      ['flags', 'set', 'catalog-read', '--stage', 'retired'],
      'retired is not a flag stage: a route is retired in the route table',
      'ficus flags set',
    ],
    [['flags', 'status', '--stale-after', '30'], 'Use a duration such as 30m, 1h or 7d.', 'ficus flags status'],
    [['flags', 'rollback'], "missing required argument 'route'", 'ficus flags rollback'],
    [['db', 'nope'], "unknown command 'nope'", 'ficus db'],
    [['db', 'migrate', '--bogus'], "unknown option '--bogus'", 'ficus db migrate'],
    [['readiness', '--bogus'], "unknown option '--bogus'", 'ficus readiness'],
    [['readiness', 'catalog', 'orders'], 'too many arguments', 'ficus readiness'],
    [['router', '--bogus'], "unknown option '--bogus'", 'ficus router'],
    [['router', 'now'], 'too many arguments', 'ficus router'],
  ])('ficus %j exits 2 with the parser message and a hint to --help', async (args, message, command) => {
    expect(await ficus(...args)).toBe(2);
    expect(cli.output()).toContain(message);
    if (command) expect(cli.output()).toContain(`(run ${command} --help for usage)`);
  });

  const helpAndVersion = [
    ['--help'],
    ['--version'],
    ['flags', 'set', '--help'],
    ['flags', 'status', '--help'],
    ['boundaries', 'graph', '--help'],
  ];
  helpAndVersion.push(['router', '--help']);
  it.each(helpAndVersion.map((args) => [args]))('ficus %j exits 0', async (args) => {
    expect(await ficus(...args)).toBe(0);
    expect(cli.output()).not.toContain('error:');
  });
});

describe('ficus router --help', () => {
  it('lists every variable of the router config, with its default', async () => {
    expect(await ficus('router', '--help')).toBe(0);
    for (const key of Object.keys(routerConfigSchema.shape))
      expect(cli.output()).toMatch(new RegExp(`^ {2}${key} `, 'm'));
    expect(cli.output()).toMatch(/^ {2}ROUTER_PORT +8080$/m);
    expect(cli.output()).toMatch(/^ {2}ADMIN_TOKEN +\(unset\)$/m);
  });
});

describe('ficus flags set --percent', () => {
  it('is required with --stage canary, and says so', async () => {
    const { flags, audit, args } = await flagsCopy();
    expect(await ficus('flags', 'set', 'catalog-read', '--stage', 'canary', ...args)).toBe(2);
    expect(cli.output()).toContain('error: --percent is required with --stage canary');
    expect(cli.output()).toContain('(run ficus flags set --help for usage)');
    expect(await readFile(flags, 'utf8')).toBe(starterText(starterFiles.flags));
    expect(existsSync(audit)).toBe(false);
  });

  it.each(['150', '0x64', 'abc', '-1', '1.5', '1e1', ''])('refuses %j, naming the option', async (percent) => {
    const { audit, args } = await flagsCopy();
    expect(await ficus('flags', 'set', 'catalog-read', '--stage', 'canary', '--percent', percent, ...args)).toBe(2);
    expect(cli.output()).toContain(`error: option '--percent <n>' argument '${percent}' is invalid.`);
    expect(cli.output()).toContain('whole number of percent from 0 to 100');
    expect(existsSync(audit)).toBe(false);
  });

  it.each([
    [['--stage', 'canary', '--percent', '0'], 'use --stage monolith'],
    [['--stage', 'canary', '--percent', '100'], 'use --stage service'],
    [['--stage', 'service', '--percent', '50'], '--percent is for --stage canary only'],
  ])('refuses %j as a usage error', async (stage, message) => {
    const { audit, args } = await flagsCopy();
    expect(await ficus('flags', 'set', 'catalog-read', ...stage, ...args)).toBe(2);
    expect(cli.output()).toContain(message);
    expect(existsSync(audit)).toBe(false);
  });

  it('sets a canary, and a round trip back to monolith leaves the flags file byte-identical', async () => {
    const { flags, audit, args } = await flagsCopy();
    const committed = await readFile(flags);
    expect(
      await ficus(
        'flags',
        'set',
        'catalog-read',
        '--stage',
        'canary',
        '--percent',
        '10',
        ...args,
        '--force',
        '--reason',
        'flag mechanics under test',
      ),
    ).toBe(0);
    expect(cli.output()).toContain('catalog-read: monolith → canary 10 %');
    expect(await ficus('flags', 'set', 'catalog-read', '--stage', 'monolith', ...args)).toBe(0);
    expect((await readFile(flags)).equals(committed)).toBe(true);
    expect((await readFile(audit, 'utf8')).trim().split('\n')).toHaveLength(2);
  });
});

describe('ficus flags on a route that takes writes', () => {
  const apiOn = {
    name: 'ficus.catalog-api',
    enabled: true,
    type: 'operational',
    strategies: [{ name: 'default', parameters: {}, constraints: [] }],
  };

  it.each([
    [['--stage', 'canary', '--percent', '10'], 'canary'],
    [['--stage', 'service'], 'service'],
  ])('refuses %j while the monolith owns the data, even with --force, naming the cutover', async (stage, name) => {
    const { flags, audit, args } = await flagsCopy();
    const forced = [...args, '--force', '--reason', 'writes under test'];
    expect(await ficus('flags', 'set', 'catalog-write', ...stage, ...forced)).toBe(1);
    expect(cli.output()).toContain(
      `FICUS_ERR_WRITES_MOVE_WITH_DATA: cannot set catalog-write to ${name}: route catalog-write takes writes (POST, PUT) to catalog's data, which the monolith owns`,
    );
    expect(cli.output()).toContain('ficus data cutover catalog moves the writes with the data');
    expect(await readFile(flags, 'utf8')).toBe(starterText(starterFiles.flags));
    expect(existsSync(audit)).toBe(false);
  });

  it('shadows them while the monolith owns the data', async () => {
    const { args } = await flagsCopy();
    expect(await ficus('flags', 'set', 'catalog-write', '--stage', 'shadow', ...args)).toBe(0);
    expect(cli.output()).toContain('catalog-write: monolith → shadow 10 %');
  });

  it('refuses to roll them back by flag once a cutover moved the data, naming the revert; the reads roll back', async () => {
    const { flags, audit, args } = await flagsCopy();
    const data = JSON.parse(await readFile(flags, 'utf8'));
    const write = data.features.find((f: { name: string }) => f.name === 'ficus.catalog-write');
    write.enabled = true;
    write.strategies[0].parameters.rollout = '100';
    data.features.push(apiOn);
    await writeFile(flags, JSON.stringify(data));
    const cutOver = await readFile(flags, 'utf8');
    expect(await ficus('flags', 'rollback', 'catalog-write', ...args)).toBe(1);
    expect(cli.output()).toContain(
      "cannot set catalog-write to monolith: route catalog-write takes writes (POST, PUT) to catalog's data, which the service catalog owns since ficus data cutover catalog",
    );
    expect(cli.output()).toContain('ficus data revert catalog moves the writes back with the data, in one command');
    expect(await readFile(flags, 'utf8')).toBe(cutOver);
    expect(existsSync(audit)).toBe(false);
    expect(await ficus('flags', 'rollback', 'catalog-read', ...args)).toBe(0);
  });
});
