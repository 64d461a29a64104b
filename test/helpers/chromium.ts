/**
 * Opens a page in headless Chromium (Debian's `chromium`, or MLIP_CHROMIUM) through
 * playwright-core and reports what went wrong there: console errors and warnings, uncaught
 * errors, failed requests, and any request that left the machine. null when no Chromium is found.
 */
import { access, constants } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export async function findChromium(): Promise<string | null> {
  for (const c of [process.env.MLIP_CHROMIUM, ...CANDIDATES]) {
    if (!c) continue;
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // try the next
    }
  }
  return null;
}

export interface PageCheck {
  title: string;
  /** Figures whose inline SVG the browser laid out with a non-zero size. */
  figuresShown: number;
  problems: string[];
  /** Requests to anything but file: and data: URLs. */
  network: string[];
}

export async function openInChromium(executablePath: string, file: string): Promise<PageCheck> {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const network: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning')
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (!/^(file|data):/.test(r.url())) network.push(r.url());
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    // A string runs in the page: this project compiles without the DOM's types.
    const figuresShown = Number(
      await page.evaluate(
        "[...document.querySelectorAll('figure svg')].filter((s) => { const r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length",
      ),
    );
    return { title: await page.title(), figuresShown, problems, network };
  } finally {
    await browser.close();
  }
}
