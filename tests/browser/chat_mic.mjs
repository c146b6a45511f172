// Dictates into Jupyter's chat input with the microphone button, in headless Chromium whose
// fake microphone plays a clip once.
//
//   node chat_mic.mjs '<json options>'
//
// options: { theme, url, page, token, artifacts, chromium, wav, clipSeconds, tag }
// Prints one JSON line: the partial texts the input showed while recording, the input's text
// at the end, the button's labels; screenshot: {artifacts}/lab-chat-mic-{tag}-{theme}.png.
import fs from 'node:fs';
import path from 'node:path';

import { extensionEntry, setTheme, runInPage } from './page.mjs';

const WAIT = 100_000;
const options = JSON.parse(process.argv[2]);
fs.mkdirSync(options.artifacts, { recursive: true });
const shot = name =>
  path.join(options.artifacts, `lab-chat-mic-${options.tag}-${options.theme}-${name}.png`);

const out = { theme: options.theme, console: [], partials: [] };
let page;
await runInPage(
  {
    chromium: options.chromium,
    viewport: { width: 1280, height: 760 },
    out,
    failureShot: shot('failure'),
    wav: options.wav,
    logConsole: true
  },
  async opened => {
    page = opened;
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
  }
);
