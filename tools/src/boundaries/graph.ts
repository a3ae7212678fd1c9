import type { BoundaryReport } from './check.js';

/** Mermaid flowchart of modules: edge labels count import sites; violating edges are dashed and red. */
export function mermaidGraph(report: BoundaryReport): string {
  const lines = ['flowchart LR'];
  for (const module of report.modules) lines.push(`  ${module.name.replaceAll('-', '_')}["${module.name}"]`);
  report.edges.forEach((edge, index) => {
    lines.push(
      `  ${edge.from.replaceAll('-', '_')} ${edge.violating ? '-.->' : '-->'}|${edge.sites.length}| ${edge.to.replaceAll('-', '_')}`,
    );
    if (edge.violating) lines.push(`  linkStyle ${index} stroke:#d33,stroke-width:2px`);
  });
  return `${lines.join('\n')}\n`;
}

/** Graphviz DOT of modules: edge labels count import sites; violating edges are dashed and red. */
export function dotGraph(report: BoundaryReport): string {
  const lines = ['digraph modules {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  for (const module of report.modules) lines.push(`  "${module.name}";`);
  for (const edge of report.edges) {
    const style = edge.violating ? ', color="#dd3333", style=dashed, fontcolor="#dd3333"' : '';
    lines.push(`  "${edge.from}" -> "${edge.to}" [label="${edge.sites.length}"${style}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
