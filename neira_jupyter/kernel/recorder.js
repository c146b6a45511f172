// The Recorder widget (anywidget ESM) and the audio capture shared with the lab extension.
//
// Audio path: microphone -> AudioWorklet (device rate -> 16 kHz mono s16le,
// 100 ms frames, plus an RMS level) -> WebSocket `neira/api/transcribe/stream`
// on the Jupyter server that serves this page -> partial / final messages.
// Only the final result goes to the kernel (the widget's `result` / `value`).
// See neira_jupyter/kernel/widget.py for why the audio does not go through
// the kernel.
//
// Named exports (`startCapture`, `openTranscription`, `pageConnection`,
// `CaptureError`) are imported by the lab extension's Dictate command.

const SAMPLE_RATE = 16000;
const FRAME_SAMPLES = 1600; // 100 ms

// Runs in the AudioWorkletGlobalScope (`sampleRate` is its global).
// Decimation by averaging: every output sample is the mean of the input
// samples that fall in its 1/16000 s slot -- a box low-pass before the rate
// change, enough against aliasing for speech recognition, and correct for any
// device rate (48000, 44100, ...), not just integer ratios.
const WORKLET_SOURCE = `
class NeiraPcm16k extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / ${SAMPLE_RATE};
    this.phase = 0;
    this.acc = 0;
    this.count = 0;
    this.frame = new Int16Array(${FRAME_SAMPLES});
    this.filled = 0;
    this.energy = 0;
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const channels = input.length;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      let x = 0;
      for (let c = 0; c < channels; c++) x += input[c][i];
      this.acc += x / channels;
      this.count += 1;
      this.phase += 1;
      if (this.phase >= this.step) {
        this.phase -= this.step;
        const y = Math.max(-1, Math.min(1, this.acc / this.count));
        this.acc = 0;
        this.count = 0;
        this.energy += y * y;
        this.frame[this.filled++] = y < 0 ? y * 32768 : y * 32767;
        if (this.filled === this.frame.length) {
          const level = Math.sqrt(this.energy / this.filled);
          const pcm = this.frame.buffer;
          this.port.postMessage({ pcm, level }, [pcm]);
          this.frame = new Int16Array(${FRAME_SAMPLES});
          this.filled = 0;
          this.energy = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor('neira-pcm16k', NeiraPcm16k);
`;

/** An error a user can act on: `kind` is "denied", "nomic", "unsupported" or "failed". */
export class CaptureError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function captureError(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new CaptureError(
      'denied',
      'Microphone access was denied. Allow the microphone for this page (the icon in the ' +
        'address bar) and press Record again.'
    );
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') {
    return new CaptureError(
      'nomic',
      'No usable microphone was found. Connect one (or free it from another application) ' +
        'and press Record again.'
    );
  }
  return new CaptureError('failed', `Could not start the microphone: ${err && err.message}`);
}

/**
 * Start the microphone. `onChunk(ArrayBuffer)` gets 100 ms of 16 kHz s16le,
 * `onLevel(rms)` the level of each chunk. Resolves to `{ stop() }`, which
 * releases the microphone (tracks stopped, audio context closed).
 */
export async function startCapture({ onChunk, onLevel }) {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new CaptureError(
      'unsupported',
      'This page cannot use a microphone: open Jupyter over https or on localhost.'
    );
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }
    });
  } catch (err) {
    throw captureError(err);
  }
  let context = null;
  try {
    context = new AudioContext();
    const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
    try {
      await context.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, 'neira-pcm16k', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCountMode: 'explicit',
      channelCount: 1
    });
    node.port.onmessage = event => {
      onChunk(event.data.pcm);
      if (onLevel) onLevel(event.data.level);
    };
    source.connect(node);
    node.connect(context.destination); // outputs silence; keeps the node pulled
    if (context.state === 'suspended') await context.resume();
    let stopped = false;
    const ctx = context;
    return {
      sampleRate: context.sampleRate,
      async stop() {
        if (stopped) return;
        stopped = true;
        node.port.onmessage = null;
        source.disconnect();
        node.disconnect();
        stream.getTracks().forEach(track => track.stop());
        await ctx.close();
      }
    };
  } catch (err) {
    stream.getTracks().forEach(track => track.stop());
    if (context) context.close();
    throw err instanceof CaptureError ? err : captureError(err);
  }
}

/** The WebSocket base URL and token of the Jupyter server that serves this page. */
export function pageConnection() {
  const element = document.getElementById('jupyter-config-data');
  if (!element) return null;
  let config;
  try {
    config = JSON.parse(element.textContent || '{}');
  } catch {
    return null;
  }
  const baseUrl = new URL(config.baseUrl || '/', window.location.href);
  let wsUrl = config.wsUrl;
  if (!wsUrl) {
    wsUrl = baseUrl.href.replace(/^http/, 'ws');
  }
  if (!wsUrl.endsWith('/')) wsUrl += '/';
  return { wsUrl, token: config.token || '' };
}

/**
 * Open a transcription stream. Callbacks: `onPartial(msg)`, `onFinal(msg)`,
 * `onError(message)`. Returns `{ send(ArrayBuffer), stop(), close() }`;
 * audio sent before the socket opens is queued.
 */
export function openTranscription({
  wsUrl,
  token,
  path = 'neira/api/transcribe/stream',
  language = 'auto',
  correct = true,
  onPartial,
  onFinal,
  onError
}) {
  let url = wsUrl + path;
  if (token) url += `?token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  const queue = [];
  let open = false;
  let done = false;
  const fail = message => {
    if (done) return;
    done = true;
    if (onError) onError(message);
  };
  socket.onopen = () => {
    open = true;
    socket.send(JSON.stringify({ type: 'start', language, correct }));
    for (const item of queue.splice(0)) socket.send(item);
  };
  socket.onmessage = event => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === 'partial' && onPartial) onPartial(message);
    else if (message.type === 'final') {
      done = true;
      if (onFinal) onFinal(message);
      socket.close();
    } else if (message.type === 'error') {
      fail(message.message || 'the server reported an error');
      socket.close();
    }
  };
  socket.onerror = () => fail('Could not reach the neira speech service on the Jupyter server.');
  socket.onclose = event => {
    if (!done) fail(`The connection to the speech service closed (code ${event.code}).`);
  };
  const send = item => {
    if (done) return;
    if (open && socket.readyState === WebSocket.OPEN) socket.send(item);
    else queue.push(item);
  };
  return {
    send,
    stop: () => send(JSON.stringify({ type: 'stop' })),
    close: () => {
      done = true;
      if (socket.readyState <= WebSocket.OPEN) socket.close();
    }
  };
}

// ------------------------------------------------------------------ the widget

/** An element with a class and text (always `textContent`: model text is untrusted). */
export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Elapsed milliseconds as "m:ss.s". */
export function formatTime(ms) {
  const seconds = ms / 1000;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds % 60).toFixed(1).padStart(4, '0')}`;
}

/**
 * A microphone level meter (`role="meter"`, 0-100 in `aria-valuenow`).
 * `set(rms)` shows the RMS level of a chunk on a perceptual (square-root) scale.
 */
export function levelMeter(className) {
  const node = h('div', className);
  node.setAttribute('role', 'meter');
  node.setAttribute('aria-label', 'Microphone level');
  node.setAttribute('aria-valuemin', '0');
  node.setAttribute('aria-valuemax', '100');
  const fill = h('div', `${className}-fill`);
  node.append(fill);
  const show = percent => {
    fill.style.width = `${percent}%`;
    node.setAttribute('aria-valuenow', String(percent));
    node.dataset.loud = String(percent >= 90);
  };
  show(0);
  return { node, set: rms => show(Math.min(100, Math.round(Math.sqrt(rms) * 250))), reset: () => show(0) };
}

/** An elapsed-time display (`role="timer"`): `start()` counts up from 0:00.0, `stop()` freezes it. */
export function elapsedClock(className) {
  const node = h('span', className, formatTime(0));
  node.setAttribute('role', 'timer');
  node.setAttribute('aria-label', 'Elapsed recording time');
  let timer = null;
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  const start = () => {
    stop();
    const started = performance.now();
    node.textContent = formatTime(0);
    timer = setInterval(() => (node.textContent = formatTime(performance.now() - started)), 100);
  };
  return { node, start, stop };
}

function renderDiff(container, changes) {
  container.replaceChildren();
  // Nothing changed: the transcript row already says it all.
  if (!(changes || []).some(change => change.op !== 'equal')) return;
  for (const change of changes) {
    if (change.op === 'equal') {
      container.append(h('span', 'neira-eq', change.raw), ' ');
      continue;
    }
    if (change.raw) container.append(h('del', 'neira-del', change.raw), ' ');
    if (change.corrected) container.append(h('ins', 'neira-ins', change.corrected), ' ');
  }
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

function render({ model, el }) {
  el.classList.add('neira-recorder');
  // keys pressed on the widget's controls are theirs, not JupyterLab's notebook shortcuts
  el.setAttribute('data-lm-suppress-shortcuts', 'true');
  const bar = h('div', 'neira-rec-bar');
  const button = h('button', 'neira-rec-button', 'Record');
  button.type = 'button';
  button.setAttribute('aria-label', 'Start recording');
  button.setAttribute('aria-pressed', 'false');
  const meter = levelMeter('neira-rec-meter');
  const clock = elapsedClock('neira-rec-time');
  const select = h('select', 'neira-rec-language');
  select.setAttribute('aria-label', 'Speech language');
  for (const [value, label] of [
    ['auto', 'auto'],
    ['en', 'English'],
    ['ru', 'Русский']
  ]) {
    const option = h('option', '', label);
    option.value = value;
    select.append(option);
  }
  const correctLabel = h('label', 'neira-rec-correct');
  const correctBox = h('input');
  correctBox.type = 'checkbox';
  correctLabel.append(correctBox, ' correct');
  bar.append(button, meter.node, clock.node, select, correctLabel);

  const message = h('div', 'neira-rec-message');
  message.setAttribute('role', 'alert');
  const partial = h('div', 'neira-partial');
  const confirmed = h('span', 'neira-partial-confirmed');
  const tentative = h('span', 'neira-partial-tentative');
  partial.append(confirmed, ' ', tentative);
  partial.setAttribute('aria-live', 'polite');

  const final = h('div', 'neira-final');
  const rawRow = h('div', 'neira-final-row');
  const raw = h('span', 'neira-final-raw');
  rawRow.append(h('b', '', 'Transcript: '), raw);
  const textRow = h('div', 'neira-final-row');
  const text = h('span', 'neira-final-text');
  textRow.append(h('b', '', 'Corrected: '), text);
  const diff = h('div', 'neira-final-diff');
  const note = h('div', 'neira-final-note');
  const actions = h('div', 'neira-final-actions');
  const insert = h('button', 'neira-insert', 'Insert as new cell');
  const copy = h('button', 'neira-copy', 'Copy');
  insert.type = copy.type = 'button';
  insert.setAttribute('aria-label', 'Insert the corrected text as a new cell');
  copy.setAttribute('aria-label', 'Copy the corrected text');
  actions.append(insert, copy);
  final.append(rawRow, textRow, diff, note, actions);
  el.append(bar, message, partial, final);

  let capture = null;
  let transcription = null;
  let state = 'idle';
  let disposed = false;

  const setState = next => {
    state = next;
    el.dataset.state = next;
    button.textContent = next === 'recording' ? 'Stop' : 'Record';
    button.setAttribute('aria-label', next === 'recording' ? 'Stop recording' : 'Start recording');
    button.setAttribute('aria-pressed', String(next === 'recording'));
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus
    button.setAttribute('aria-disabled', String(next === 'connecting' || next === 'finishing'));
    button.classList.toggle('neira-recording', next === 'recording');
    select.disabled = correctBox.disabled = next !== 'idle' && next !== 'done' && next !== 'error';
    if (!disposed) {
      model.set('status', next);
      model.save_changes();
    }
  };

  const showError = text => {
    message.textContent = text;
    message.classList.toggle('neira-visible', Boolean(text));
    if (!disposed) {
      model.set('error', text || '');
      model.save_changes();
    }
  };

  const showResult = result => {
    const hasResult = Boolean(result && typeof result.text === 'string');
    final.classList.toggle('neira-visible', hasResult);
    if (!hasResult) return;
    raw.textContent = result.raw || '';
    text.textContent = result.text || '';
    const correction = result.correction;
    renderDiff(diff, correction ? correction.changes : []);
    note.textContent = !correction
      ? 'Correction was off.'
      : correction.degraded
        ? `Not corrected: ${correction.reason}`
        : `Corrected by ${correction.model}.`;
  };

  const releaseMicrophone = async () => {
    const current = capture;
    capture = null;
    meter.reset();
    if (current) await current.stop();
  };

  const fail = async text => {
    clock.stop();
    await releaseMicrophone();
    if (transcription) transcription.close();
    transcription = null;
    showError(text);
    setState('error');
  };

  const record = async () => {
    const connection = pageConnection();
    if (!connection) {
      showError(
        'The recorder needs JupyterLab or Jupyter Notebook served by the Jupyter server ' +
          'that runs neira; use %transcribe FILE elsewhere.'
      );
      setState('error');
      return;
    }
    showError('');
    confirmed.textContent = tentative.textContent = '';
    partial.classList.remove('neira-visible');
    setState('connecting');
    transcription = openTranscription({
      wsUrl: connection.wsUrl,
      token: connection.token,
      path: model.get('stream_path'),
      language: model.get('language'),
      correct: model.get('correct'),
      onPartial: msg => {
        confirmed.textContent = msg.confirmed;
        tentative.textContent = msg.tentative;
        partial.classList.add('neira-visible');
      },
      onFinal: msg => {
        transcription = null;
        confirmed.textContent = tentative.textContent = '';
        partial.classList.remove('neira-visible'); // the final rows below replace it
        showResult(msg);
        if (!disposed) {
          model.set('result', msg);
          model.set('value', msg.text);
          model.save_changes();
        }
        setState('done');
      },
      onError: text => fail(text)
    });
    try {
      capture = await startCapture({
        onChunk: pcm => transcription && transcription.send(pcm),
        onLevel: meter.set
      });
    } catch (err) {
      await fail(err.message);
      return;
    }
    if (disposed || !transcription) {
      await releaseMicrophone();
      return;
    }
    clock.start();
    setState('recording');
  };

  const stop = async () => {
    clock.stop();
    await releaseMicrophone();
    setState('finishing');
    if (transcription) transcription.stop();
  };

  button.addEventListener('click', () => {
    if (state === 'recording') stop();
    else if (state !== 'connecting' && state !== 'finishing') record();
  });
  select.value = model.get('language');
  select.addEventListener('change', () => {
    model.set('language', select.value);
    model.save_changes();
  });
  correctBox.checked = model.get('correct');
  correctBox.addEventListener('change', () => {
    model.set('correct', correctBox.checked);
    model.save_changes();
  });
  insert.addEventListener('click', async () => {
    const value = model.get('value');
    const event = new CustomEvent('neira:insert-cell', {
      bubbles: true,
      cancelable: true,
      detail: { text: value }
    });
    if (!el.dispatchEvent(event)) return; // the lab extension inserted the cell
    const copied = await copyText(value);
    showError(
      copied
        ? 'Copied: paste it into a new cell (with the neira lab extension this button inserts it).'
        : 'Could not insert or copy the text here.'
    );
  });
  copy.addEventListener('click', async () => {
    const copied = await copyText(model.get('value'));
    copy.textContent = copied ? 'Copied' : 'Copy failed';
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
  });

  const onLanguage = () => (select.value = model.get('language'));
  const onCorrect = () => (correctBox.checked = model.get('correct'));
  const onResult = () => showResult(model.get('result'));
  model.on('change:language', onLanguage);
  model.on('change:correct', onCorrect);
  model.on('change:result', onResult);
  showResult(model.get('result'));
  el.dataset.state = 'idle';

  return () => {
    disposed = true;
    clock.stop();
    model.off('change:language', onLanguage);
    model.off('change:correct', onCorrect);
    model.off('change:result', onResult);
    if (transcription) transcription.close();
    transcription = null;
    releaseMicrophone();
  };
}

export default { render };
