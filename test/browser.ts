/** A page opened as people open it: in headless Chromium (playwright-core), from file://. */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';

/** Debian's chromium, or $CHROMIUM; undefined when neither is there. */
export const CHROMIUM = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && existsSync(p),
);
if (!CHROMIUM)
  console.warn('[skip] no Chromium found (apt-get install chromium, or set CHROMIUM): skipping the browser tests');

/** Opens `file` and hands `look` the tab, with every console error and every request the page made. */
export async function inChromium(
  file: string,
  look: (tab: Page, seen: { errors: string[]; requests: string[]; url: string }) => Promise<void>,
): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const seen = { errors: [] as string[], requests: [] as string[], url: pathToFileURL(file).href };
    tab.on('console', (m) => m.type() === 'error' && seen.errors.push(m.text()));
    tab.on('pageerror', (e) => seen.errors.push(e.message));
    tab.on('request', (req) => seen.requests.push(req.url()));
    await tab.goto(seen.url);
    await look(tab, seen);
  } finally {
    await browser.close();
  }
}
