import { describe, expect, it } from 'vitest';
import { parseRouteTable, substituteEnv } from '../../../../router/src/route-table/load.js';
import { retireRoutes } from '../../../../tools/src/retire/route-table.js';
import { starterFiles, starterText } from '../../../kit/starter.js';

const file = starterFiles.routes;
const committed = starterText(file);

describe('retiring the routes of a service in the route table', () => {
  it('marks every route of the service retired, drops its monolith fallback and shadow rules, keeps the comments', () => {
    const edit = retireRoutes(committed, file, 'catalog', {});
    expect(edit.changes).toEqual([
      'route catalog-read: stage retired (served by catalog only)',
      'route catalog-write: stage retired (served by catalog only)',
    ]);
    const table = parseRouteTable(substituteEnv(edit.text, {}, file), file);
    for (const route of table.routes.filter((r) => r.service === 'catalog')) {
      expect(route.stage).toBe('retired');
      expect(route.fallback).toBe('none');
    }
    // The file's comments (its header and each route's) survive the edit.
    const comments = (text: string) => text.split('\n').filter((line) => line.trim().startsWith('#'));
    expect(comments(edit.text)).toEqual(comments(committed));
    expect(edit.text).not.toContain('fallback: monolith');
  });

  it('changes nothing for a service with no routes, or whose routes are retired already', () => {
    expect(retireRoutes(committed, file, 'reviews', {})).toEqual({ text: committed, changes: [] });
    const once = retireRoutes(committed, file, 'catalog', {});
    expect(retireRoutes(once.text, file, 'catalog', {}).changes).toEqual([]);
  });
});
