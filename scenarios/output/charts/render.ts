/**
 * Vega-Lite specifications rendered to SVG text in Node, with no browser and no canvas: the page that
 * holds them needs no script and no network to show its charts.
 */
import type { TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded here: only the HTML report needs them, and they take a while to load.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
