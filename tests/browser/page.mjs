// Page-side helpers for the browser scripts (runInPage: one page, one JSON line): theme switching, computed-style reports, keyboard focus,
// the status panel. Every function takes a playwright `page`.

import { chromium } from 'playwright-core';

export const WAIT = 180_000;

const THEMES = { light: 'JupyterLab Light', dark: 'JupyterLab Dark' };

/** Switch the app's theme with JupyterLab's own command and wait until it is applied. */
export async function setTheme(page, theme) {
  await page.evaluate(
    name => window.jupyterapp.commands.execute('apputils:change-theme', { theme: name }),
    THEMES[theme]
  );
  await page.waitForFunction(
    ({ name, light }) =>
      document.body.dataset.jpThemeName === name && document.body.dataset.jpThemeLight === light,
    { name: THEMES[theme], light: String(theme === 'light') },
    { timeout: WAIT }
  );
  // the theme's stylesheet has been applied once the variables resolve to its colours
  await page.waitForFunction(
    light => {
      const probe = document.createElement('div');
      probe.style.color = 'var(--jp-layout-color1)';
      document.body.append(probe);
      const [r, g, b] = getComputedStyle(probe)
        .color.match(/[\d.]+/g)
        .map(Number);
      probe.remove();
      return light === (r + g + b) / 3 > 128;
    },
    theme === 'light',
    { timeout: WAIT }
  );
}

/**
 * Computed colours of `selectors` ({key: css selector}) and of the theme variables they
 * should use, resolved the same way (through a probe element), so the test can compare them.
 */
export async function styleReport(page, selectors) {
  return page.evaluate(selectors => {
    const probe = document.createElement('div');
    document.body.append(probe);
    const resolve = name => {
      probe.style.color = `var(${name})`;
      return getComputedStyle(probe).color;
    };
    const vars = {};
    for (const name of [
      'layout-color1',
      'ui-font-color1',
      'brand-color1',
      'error-color1',
      'warn-color1'
    ]) {
      vars[name] = resolve(`--jp-${name}`);
    }
    probe.remove();
    const elements = {};
    for (const [key, selector] of Object.entries(selectors)) {
      const node = document.querySelector(selector);
      if (!node) continue;
      const style = getComputedStyle(node);
      elements[key] = {
        background: style.backgroundColor,
        color: style.color,
        data: { ...node.dataset }
      };
    }
    return {
      theme: document.body.dataset.jpThemeName,
      light: document.body.dataset.jpThemeLight === 'true',
      vars,
      elements
    };
  }, selectors);
}

/**
 * Press Tab from just before `selector` (a probe that is focusable only by script) and
 * report what got the focus and how the focus is drawn.
 */
export async function tabInto(page, selector) {
  await page.evaluate(selector => {
    const target = document.querySelector(selector);
    const probe = document.createElement('span');
    probe.tabIndex = -1;
    probe.id = 'neira-focus-probe';
    target.before(probe);
    probe.focus();
  }, selector);
  await page.keyboard.press('Tab');
  return page.evaluate(selector => {
    document.getElementById('neira-focus-probe')?.remove();
    const active = document.activeElement;
    const style = getComputedStyle(active);
    const probe = document.createElement('div');
    probe.style.color = 'var(--jp-brand-color1)';
    document.body.append(probe);
    const brand = getComputedStyle(probe).color;
    probe.remove();
    return {
      isTarget: active === document.querySelector(selector),
      tag: active.tagName,
      ariaLabel: active.getAttribute('aria-label'),
      outlineStyle: style.outlineStyle,
      outlineWidth: style.outlineWidth,
      outlineColor: style.outlineColor,
      brand
    };
  }, selector);
}

/** The extension's remoteEntry the page was told to load (which build is running). */
export async function extensionEntry(page) {
  return page.evaluate(() => {
    const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
    const entry = (config.federated_extensions || []).find(e => e.name === 'neira-jupyter');
    return entry ? entry.load : '';
  });
}

/**
 * Open the status item's panel by `how` ("click", or "Enter" on the focused item), wait for
 * it and report its text; the dialog stays open.
 */
export async function openStatusPanel(page, out, how) {
  const item = page.locator('.neira-status');
  await page.waitForFunction(
    () => /·/.test(document.querySelector('.neira-status')?.textContent || ''),
    null,
    { timeout: WAIT }
  );
  out.statusText = (await item.textContent()).trim();
  out.statusLabel = await item.getAttribute('aria-label');
  out.statusTag = await item.evaluate(node => node.tagName);
  if (how === 'Enter') {
    await item.focus();
    await page.keyboard.press('Enter');
  } else {
    await item.click();
  }
  out.panelOpenedWith = how;
  const panel = page.locator('.jp-Dialog .neira-status-panel');
  await panel.waitFor({ timeout: WAIT });
  out.panelText = await panel.innerText();
  out.panelHeadings = await panel.locator('h3').allTextContents();
}

/** Close the open dialog with its button. */
export async function closeDialog(page) {
  await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();
  await page.locator('.jp-Dialog').waitFor({ state: 'detached', timeout: WAIT });
}

/** Wait until `selector`'s m:ss.s clock has passed `seconds` (the clip has played). */
export async function waitForClockPast(page, selector, seconds) {
  await page.waitForFunction(
    ({ selector, seconds }) => {
      const text = document.querySelector(selector)?.textContent || '';
      const [minutes, secs] = text.split(':').map(Number);
      return minutes * 60 + secs >= seconds;
    },
    { selector, seconds },
    { timeout: WAIT }
  );
}

/**
 * Run `body(page)` in a fresh headless Chromium page, then print `out` as one JSON line (what
 * the Python test reads). `chromium`: the browser's path; `wav`: a clip the fake microphone
 * plays once (the microphone is then allowed); `logConsole`: also keep the page's console
 * lines. Page errors (and console lines) go to `out.console`; an error thrown by `body` goes
 * to `out.failure`, with a screenshot at `failureShot`.
 */
export async function runInPage(
  { chromium: executablePath, wav, viewport, out, failureShot, logConsole = false },
  body
) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'];
  if (wav) {
    args.push(
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}%noloop`,
      '--autoplay-policy=no-user-gesture-required'
    );
  }
  const browser = await chromium.launch({
    executablePath: executablePath || '/usr/bin/chromium',
    headless: true,
    args
  });
  out.console = out.console || [];
  let page;
  try {
    const context = await browser.newContext({ viewport });
    if (wav) await context.grantPermissions(['microphone']);
    page = await context.newPage();
    page.on('pageerror', err => out.console.push(`pageerror: ${err.message}`.slice(0, 300)));
    if (logConsole) {
      page.on('console', msg => out.console.push(`${msg.type()}: ${msg.text()}`.slice(0, 300)));
    }
    await body(page);
  } catch (err) {
    out.failure = String(err && err.stack ? err.stack : err).slice(0, 2000);
    if (page) await page.screenshot({ path: failureShot }).catch(() => {});
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
