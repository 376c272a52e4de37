// The shared part of the dashboard's browser tests: Debian's headless Chromium driven by
// playwright-core, one page, a helper that says what it waits for, script errors collected, and
// on failure a screenshot and the page's text. A scenario fills `seen`; one JSON line is printed:
// `{"ok": true, ...seen}`, or `{"ok": false, "error": …}` with exit code 1.
import { createRequire } from 'node:module';

// ES modules ignore NODE_PATH: playwright-core is found in the folder the test names.
const require = createRequire(`${process.env.NODE_MODULES}/`);
const { chromium } = require('playwright-core');

export const url = process.env.DASHBOARD_URL;
export const plan = process.env.PLAN_ID;
export const shots = process.env.SCREENSHOTS;

export async function scenario(run) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const seen = {};
  const step = (what) => console.error(`browser: ${what}`);
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.setDefaultTimeout(60000);
    const waitFor = (selector, options) => {
      step(`waiting for ${selector}`);
      return page.waitForSelector(selector, options);
    };
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await run({ page, waitFor, seen });
    seen.errors = errors;
    console.log(JSON.stringify({ ok: true, ...seen }));
  } catch (err) {
    for (const page of browser.contexts().flatMap((c) => c.pages())) {
      await page.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
      step(`page ${page.url()} showed:\n${await page.locator('body').innerText().catch(() => '?')}`);
    }
    console.log(JSON.stringify({ ok: false, error: String(err), ...seen }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
