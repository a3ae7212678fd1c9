import { isMap, isSeq, type YAMLSeq } from 'yaml';
import { parseRouteTable, substituteEnv } from '../../../router/src/route-table/load.js';
import { type Edit, parseYaml, yamlText } from '../extract/wiring.js';

/**
 * Marks every route of `service` in the route table `stage: retired`: the router sends all of
 * their requests to the service, whatever the flags say. A fallback to the monolith and shadow
 * rules go (there is no monolith side any more); comments and layout stay. The result is
 * validated as the router would.
 */
export function retireRoutes(
  text: string,
  file: string,
  service: string,
  env: Record<string, string | undefined>,
): Edit {
  const doc = parseYaml(text, file);
  const changes: string[] = [];
  const list = doc.get('routes');
  for (const item of isSeq(list) ? (list as YAMLSeq).items : []) {
    if (!isMap(item) || item.get('service') !== service || item.get('stage') === 'retired') continue;
    item.set('stage', 'retired');
    if (item.get('fallback') === 'monolith') item.delete('fallback');
    item.delete('shadow');
    changes.push(`route ${String(item.get('id'))}: stage retired (served by ${service} only)`);
  }
  const result = yamlText(doc);
  parseRouteTable(substituteEnv(result, env, file), file);
  return { text: result, changes };
}
