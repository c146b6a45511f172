// Dictates into Jupyter's chat input with the microphone button, in headless Chromium whose
// fake microphone plays a clip once.
//
//   node chat_mic.mjs '<json options>'
//
// options: { theme, url, page, token, artifacts, chromium, wav, clipSeconds, tag }
// Prints one JSON line: the partial texts the input showed while recording, the input's text
// at the end, the button's labels; screenshot: {artifacts}/lab-chat-mic-{tag}-{theme}.png.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

import { extensionEntry, setTheme } from './page.mjs';

const WAIT = 100_000;
const options = JSON.parse(process.argv[2]);
fs.mkdirSync(options.artifacts, { recursive: true });
const shot = name =>
  path.join(options.artifacts, `lab-chat-mic-${options.tag}-${options.theme}-${name}.png`);

const browser = await chromium.launch({
  executablePath: options.chromium || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${options.wav}%noloop`,
    '--autoplay-policy=no-user-gesture-required'
  ]
});
const out = { theme: options.theme, console: [], partials: [] };
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  await context.grantPermissions(['microphone']);
  page = await context.newPage();
  page.on('pageerror', err => out.console.push(`pageerror: ${err.message}`.slice(0, 300)));
  page.on('console', msg => out.console.push(`${msg.type()}: ${msg.text()}`.slice(0, 300)));
  await page.goto(`${options.url}${options.page}&token=${options.token}`);
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, {
    timeout: WAIT
  });
  await page.waitForSelector('.jp-Notebook', { timeout: WAIT });
  out.extensionEntry = await extensionEntry(page);
  await setTheme(page, options.theme);
  await page.evaluate(
    name =>
      window.jupyterapp.commands.execute('jupyterlab-chat:createAndOpen', {
        name,
        inSidePanel: true
      }),
    `mic-${options.tag}-${options.theme}`
  );
  const mic = page.locator('.jp-chat-input-container .neira-chat-mic').first();
  await mic.waitFor({ timeout: WAIT });
  out.labelIdle = await mic.getAttribute('aria-label');
  const input = page.locator('.jp-chat-input-container textarea').first();
  await mic.click();
  out.labelRecording = await mic.getAttribute('aria-label');
  const stopAt = Date.now() + options.clipSeconds * 1000;
  while (Date.now() < stopAt) {
    const value = await input.inputValue();
    if (value && value !== out.partials[out.partials.length - 1]) out.partials.push(value);
    await page.waitForTimeout(100);
  }
  await page.screenshot({ path: shot('partial') });
  await mic.click();
  await page.waitForFunction(
    () => document.querySelector('.neira-chat-mic')?.dataset.state === 'idle',
    null,
    { timeout: WAIT }
  );
  out.text = await input.inputValue();
  // the chat's own send button is enabled by the dictated text (its model followed the input)
  out.sendEnabled = await page.evaluate(() => {
    const send = document.querySelector('.jp-chat-input-container .jp-chat-send-button');
    return send ? !send.disabled : null;
  });
  await page.screenshot({ path: shot('done') });
} catch (err) {
  out.failure = String(err && err.stack ? err.stack : err).slice(0, 2000);
  if (page) await page.screenshot({ path: shot('failure') }).catch(() => {});
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
