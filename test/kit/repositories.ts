import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './processes.js';
import { starterEdits } from './starter.js';

/**
 * Gives a repository outside this one the dependencies of this one (one symlink per package, so
 * node and tsx resolve them as installed) and the `ficus` package by name, its `ficus/platform`
 * export pointing at this checkout's platform sources, as an installed ficus would point at its build.
 */
async function linkDependencies(dir: string): Promise<void> {
  const modules = join(dir, 'node_modules');
  await mkdir(modules, { recursive: true });
  for (const entry of await readdir(join(repoRoot, 'node_modules'))) {
    if (entry === 'ficus' || entry.startsWith('.')) continue;
    await symlink(join(repoRoot, 'node_modules', entry), join(modules, entry));
  }
  await mkdir(join(modules, 'ficus'));
  await writeFile(
    join(modules, 'ficus', 'package.json'),
    JSON.stringify({ name: 'ficus', type: 'module', exports: { './platform': './platform.js' } }),
  );
  const platform = pathToFileURL(join(repoRoot, 'platform/src/index.ts')).href;
  await writeFile(join(modules, 'ficus', 'platform.js'), `export * from '${platform}';\n`);
}

/** A copy of a fixture repository (test/e2e/fixtures/<name>) in a temporary folder, ready to run. */
export async function fixtureRepository(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ficus-${name}-`));
  await cp(join(repoRoot, 'test/e2e/fixtures', name), dir, { recursive: true });
  await linkDependencies(dir);
  return dir;
}

/**
 * A copy of this repository's files, as a fresh clone has them, with its dependencies linked: the
 * starter as it ships (starterEdits: a `ficus retire` of this repository undone in the copy).
 */
export async function cloneOfThisRepository(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-clone-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\0')
    // A node_modules that is a symlink (a git worktree sharing another's) is listed as a file.
    .filter((file) => file && file !== 'node_modules');
  for (const file of files) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await cp(join(repoRoot, file), join(dir, file)).catch((error: NodeJS.ErrnoException) => {
      // A file deleted in the work tree but not yet in the index.
      if (error.code !== 'ENOENT') throw error;
    });
  }
  for (const [file, text] of starterEdits()) await writeFile(join(dir, file), text);
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
