// Generated from labextension/src/recorder/ by esbuild 0.28.2
// (`npm run build:recorder` in labextension/). Do not edit.
// sources sha256: 090e36debe12e9ab29f1b3bf4d0a625de61d16d48dba0ea6701ef4014138457f

// src/recorder/worklet.ts
var SAMPLE_RATE = 16e3;
var FRAME_SAMPLES = 1600;
var PCM16K_PROCESSOR = "neira-pcm16k";
function definePcm16kProcessor(name, targetRate, frameSamples) {
  class Pcm16kProcessor extends AudioWorkletProcessor {
    constructor() {
      super();
      this.step = sampleRate / targetRate;
      this.phase = 0;
      this.acc = 0;
      this.count = 0;
      this.frame = new Int16Array(frameSamples);
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
          this.push(Math.max(-1, Math.min(1, this.acc / this.count)));
          this.acc = 0;
          this.count = 0;
        }
      }
      return true;
    }
    /** Appends one output sample; posts the frame when it is full. */
    push(y) {
      this.energy += y * y;
      this.frame[this.filled++] = y < 0 ? y * 32768 : y * 32767;
      if (this.filled === this.frame.length) {
        const level = Math.sqrt(this.energy / this.filled);
        const pcm = this.frame.buffer;
        this.port.postMessage({ pcm, level }, [pcm]);
        this.frame = new Int16Array(frameSamples);
        this.filled = 0;
        this.energy = 0;
      }
    }
  }
  registerProcessor(name, Pcm16kProcessor);
}
var PCM16K_WORKLET_SOURCE = `(${definePcm16kProcessor.toString()})(${JSON.stringify(
  PCM16K_PROCESSOR
)}, ${SAMPLE_RATE}, ${FRAME_SAMPLES});
`;

// src/recorder/capture.ts
var CaptureError = class extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
};
function captureError(err) {
  const { name, message } = typeof err === "object" && err !== null ? err : {};
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new CaptureError(
      "denied",
      "Microphone access was denied. Allow the microphone for this page (the icon in the address bar) and press Record again."
    );
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return new CaptureError(
      "nomic",
      "No usable microphone was found. Connect one (or free it from another application) and press Record again."
    );
  }
  return new CaptureError("failed", `Could not start the microphone: ${String(message)}`);
}
async function addPcmWorklet(context) {
  const blob = new Blob([PCM16K_WORKLET_SOURCE], { type: "text/javascript" });
  const url = URL.createObjectURL(blob);
  try {
    await context.audioWorklet.addModule(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}
async function startCapture({ onChunk, onLevel }) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new CaptureError(
      "unsupported",
      "This page cannot use a microphone: open Jupyter over https or on localhost."
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
  const stopTracks = () => stream.getTracks().forEach((track) => track.stop());
  let context = null;
  try {
    context = new AudioContext();
    await addPcmWorklet(context);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, PCM16K_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCountMode: "explicit",
      channelCount: 1
    });
    node.port.onmessage = (event) => {
      onChunk(event.data.pcm);
      onLevel?.(event.data.level);
    };
    source.connect(node);
    node.connect(context.destination);
    if (context.state === "suspended") await context.resume();
    let stopped = false;
    const running = context;
    return {
      sampleRate: running.sampleRate,
      async stop() {
        if (stopped) return;
        stopped = true;
        node.port.onmessage = null;
        source.disconnect();
        node.disconnect();
        stopTracks();
        await running.close();
      }
    };
  } catch (err) {
    stopTracks();
    void context?.close();
    throw err instanceof CaptureError ? err : captureError(err);
  }
}

// src/recorder/clipboard.ts
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

// src/recorder/connection.ts
function pageConnection() {
  const element = document.getElementById("jupyter-config-data");
  if (!element) return null;
  let config;
  try {
    config = JSON.parse(element.textContent || "{}");
  } catch {
    return null;
  }
  const baseUrl = new URL(config.baseUrl || "/", window.location.href);
  let wsUrl = config.wsUrl || baseUrl.href.replace(/^http/, "ws");
  if (!wsUrl.endsWith("/")) wsUrl += "/";
  return { wsUrl, token: config.token || "" };
}

// src/recorder/model.ts
function isFinal(result) {
  return Boolean(result && typeof result.text === "string");
}
var INSERT_CELL_EVENT = "neira:insert-cell";

// src/recorder/transcription.ts
var STREAM_PATH = "neira/api/transcribe/stream";
function parseMessage(data) {
  if (typeof data !== "string") return null;
  try {
    const message = JSON.parse(data);
    return typeof message === "object" && message !== null && "type" in message ? message : null;
  } catch {
    return null;
  }
}
function openTranscription({
  wsUrl,
  token,
  path = STREAM_PATH,
  language = "auto",
  correct = true,
  onPartial,
  onFinal,
  onError
}) {
  let url = wsUrl + path;
  if (token) url += `?token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const queue = [];
  let open = false;
  let done = false;
  const fail = (message) => {
    if (done) return;
    done = true;
    onError?.(message);
  };
  const send = (item) => {
    if (done) return;
    if (open && socket.readyState === WebSocket.OPEN) socket.send(item);
    else queue.push(item);
  };
  socket.onopen = () => {
    open = true;
    const start = { type: "start", language, correct };
    socket.send(JSON.stringify(start));
    for (const item of queue.splice(0)) socket.send(item);
  };
  socket.onmessage = (event) => {
    const message = parseMessage(event.data);
    if (message?.type === "partial") {
      onPartial?.(message);
    } else if (message?.type === "final") {
      done = true;
      onFinal?.(message);
      socket.close();
    } else if (message?.type === "error") {
      fail(message.message || "the server reported an error");
      socket.close();
    }
  };
  socket.onerror = () => fail("Could not reach the neira speech service on the Jupyter server.");
  socket.onclose = (event) => {
    if (!done) fail(`The connection to the speech service closed (code ${event.code}).`);
  };
  const stop = { type: "stop" };
  return {
    send,
    stop: () => send(JSON.stringify(stop)),
    close: () => {
      done = true;
      if (socket.readyState <= WebSocket.OPEN) socket.close();
    }
  };
}

// src/recorder/elements.ts
function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== void 0) node.textContent = text;
  return node;
}
function formatTime(ms) {
  const seconds = ms / 1e3;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds % 60).toFixed(1).padStart(4, "0")}`;
}
function levelMeter(className) {
  const node = h("div", className);
  node.setAttribute("role", "meter");
  node.setAttribute("aria-label", "Microphone level");
  node.setAttribute("aria-valuemin", "0");
  node.setAttribute("aria-valuemax", "100");
  const fill = h("div", `${className}-fill`);
  node.append(fill);
  const show = (percent) => {
    fill.style.width = `${percent}%`;
    node.setAttribute("aria-valuenow", String(percent));
    node.dataset.loud = String(percent >= 90);
  };
  show(0);
  return {
    node,
    set: (rms) => show(Math.min(100, Math.round(Math.sqrt(rms) * 250))),
    reset: () => show(0)
  };
}
function elapsedClock(className) {
  const node = h("span", className, formatTime(0));
  node.setAttribute("role", "timer");
  node.setAttribute("aria-label", "Elapsed recording time");
  let timer = null;
  const stop = () => {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  };
  const start = () => {
    stop();
    const started = performance.now();
    node.textContent = formatTime(0);
    timer = window.setInterval(() => {
      node.textContent = formatTime(performance.now() - started);
    }, 100);
  };
  return { node, start, stop };
}

// src/recorder/final.ts
function renderDiff(container, changes) {
  container.replaceChildren();
  if (!changes.some((change) => change.op !== "equal")) return;
  for (const change of changes) {
    if (change.op === "equal") {
      container.append(h("span", "neira-eq", change.raw), " ");
      continue;
    }
    if (change.raw) container.append(h("del", "neira-del", change.raw), " ");
    if (change.corrected) container.append(h("ins", "neira-ins", change.corrected), " ");
  }
}
function correctionNote(result) {
  const correction = result.correction;
  if (!correction) return "Correction was off.";
  if (correction.degraded) return `Not corrected: ${correction.reason}`;
  return `Corrected by ${correction.model}.`;
}
var FinalView = class {
  constructor() {
    this.node = h("div", "neira-final");
    this.insertButton = h("button", "neira-insert", "Insert as new cell");
    this.copyButton = h("button", "neira-copy", "Copy");
    this.raw = h("span", "neira-final-raw");
    this.text = h("span", "neira-final-text");
    this.diff = h("div", "neira-final-diff");
    this.note = h("div", "neira-final-note");
    const rawRow = h("div", "neira-final-row");
    rawRow.append(h("b", "", "Transcript: "), this.raw);
    const textRow = h("div", "neira-final-row");
    textRow.append(h("b", "", "Corrected: "), this.text);
    const actions = h("div", "neira-final-actions");
    this.insertButton.type = this.copyButton.type = "button";
    this.insertButton.setAttribute("aria-label", "Insert the corrected text as a new cell");
    this.copyButton.setAttribute("aria-label", "Copy the corrected text");
    actions.append(this.insertButton, this.copyButton);
    this.node.append(rawRow, textRow, this.diff, this.note, actions);
  }
  /** Shows `result`, or hides the panel when there is none. */
  show(result) {
    const hasResult = isFinal(result);
    this.node.classList.toggle("neira-visible", hasResult);
    if (!hasResult) return;
    this.raw.textContent = result.raw || "";
    this.text.textContent = result.text || "";
    renderDiff(this.diff, result.correction?.changes ?? []);
    this.note.textContent = correctionNote(result);
  }
  /** Shows `label` on the Copy button for 1.5 s. */
  flashCopy(label) {
    this.copyButton.textContent = label;
    window.setTimeout(() => this.copyButton.textContent = "Copy", 1500);
  }
};

// src/recorder/view.ts
var LANGUAGES = [
  ["auto", "auto"],
  ["en", "English"],
  ["ru", "Русский"]
];
var BUSY = /* @__PURE__ */ new Set(["connecting", "recording", "finishing"]);
var RecorderView = class {
  constructor(el) {
    this.el = el;
    this.button = h("button", "neira-rec-button", "Record");
    this.meter = levelMeter("neira-rec-meter");
    this.clock = elapsedClock("neira-rec-time");
    this.language = h("select", "neira-rec-language");
    this.correct = h("input");
    this.final = new FinalView();
    this.message = h("div", "neira-rec-message");
    this.partial = h("div", "neira-partial");
    this.confirmed = h("span", "neira-partial-confirmed");
    this.tentative = h("span", "neira-partial-tentative");
    el.classList.add("neira-recorder");
    el.setAttribute("data-lm-suppress-shortcuts", "true");
    this.button.type = "button";
    this.button.setAttribute("aria-label", "Start recording");
    this.button.setAttribute("aria-pressed", "false");
    this.language.setAttribute("aria-label", "Speech language");
    for (const [value, label] of LANGUAGES) {
      const option = h("option", "", label);
      option.value = value;
      this.language.append(option);
    }
    const correctLabel = h("label", "neira-rec-correct");
    this.correct.type = "checkbox";
    correctLabel.append(this.correct, " correct");
    const bar = h("div", "neira-rec-bar");
    bar.append(this.button, this.meter.node, this.clock.node, this.language, correctLabel);
    this.message.setAttribute("role", "alert");
    this.partial.append(this.confirmed, " ", this.tentative);
    this.partial.setAttribute("aria-live", "polite");
    el.append(bar, this.message, this.partial, this.final.node);
    el.dataset.state = "idle";
  }
  /** Shows `state`: on `el`'s `data-state`, the button, and the settings' availability. */
  showState(state) {
    const recording = state === "recording";
    this.el.dataset.state = state;
    this.button.textContent = recording ? "Stop" : "Record";
    this.button.setAttribute("aria-label", recording ? "Stop recording" : "Start recording");
    this.button.setAttribute("aria-pressed", String(recording));
    const waiting = state === "connecting" || state === "finishing";
    this.button.setAttribute("aria-disabled", String(waiting));
    this.button.classList.toggle("neira-recording", recording);
    this.language.disabled = this.correct.disabled = BUSY.has(state);
  }
  /** Shows `text` in the message line (hidden when empty). */
  showError(text) {
    this.message.textContent = text;
    this.message.classList.toggle("neira-visible", Boolean(text));
  }
  /** Shows a partial transcript: the confirmed words, then the tentative tail. */
  showPartial(message) {
    this.confirmed.textContent = message.confirmed;
    this.tentative.textContent = message.tentative;
    this.partial.classList.add("neira-visible");
  }
  /** Clears and hides the partial transcript. */
  clearPartial() {
    this.confirmed.textContent = this.tentative.textContent = "";
    this.partial.classList.remove("neira-visible");
  }
};

// src/recorder/widget.ts
var NO_SERVER = "The recorder needs JupyterLab or Jupyter Notebook served by the Jupyter server that runs neira; use %transcribe FILE elsewhere.";
var render = ({ model, el }) => {
  const view = new RecorderView(el);
  let capture = null;
  let transcription = null;
  let state = "idle";
  let disposed = false;
  const sync = (write) => {
    if (disposed) return;
    write();
    model.save_changes();
  };
  const setState = (next) => {
    state = next;
    view.showState(next);
    sync(() => model.set("status", next));
  };
  const showError = (text) => {
    view.showError(text);
    sync(() => model.set("error", text));
  };
  const releaseMicrophone = async () => {
    const current = capture;
    capture = null;
    view.meter.reset();
    if (current) await current.stop();
  };
  const fail = async (text) => {
    view.clock.stop();
    await releaseMicrophone();
    transcription?.close();
    transcription = null;
    showError(text);
    setState("error");
  };
  const finish = (message) => {
    transcription = null;
    view.clearPartial();
    view.final.show(message);
    sync(() => {
      model.set("result", message);
      model.set("value", message.text);
    });
    setState("done");
  };
  const record = async () => {
    const connection = pageConnection();
    if (!connection) {
      showError(NO_SERVER);
      setState("error");
      return;
    }
    showError("");
    view.clearPartial();
    setState("connecting");
    transcription = openTranscription({
      wsUrl: connection.wsUrl,
      token: connection.token,
      path: model.get("stream_path"),
      language: model.get("language"),
      correct: model.get("correct"),
      onPartial: (message) => view.showPartial(message),
      onFinal: finish,
      onError: (text) => void fail(text)
    });
    try {
      capture = await startCapture({
        onChunk: (pcm) => transcription?.send(pcm),
        onLevel: (rms) => view.meter.set(rms)
      });
    } catch (err) {
      await fail(err instanceof Error ? err.message : String(err));
      return;
    }
    if (disposed || !transcription) {
      await releaseMicrophone();
      return;
    }
    view.clock.start();
    setState("recording");
  };
  const stop = async () => {
    view.clock.stop();
    await releaseMicrophone();
    setState("finishing");
    transcription?.stop();
  };
  const insertCell = async () => {
    const text = model.get("value");
    const event = new CustomEvent(INSERT_CELL_EVENT, {
      bubbles: true,
      cancelable: true,
      detail: { text }
    });
    if (!el.dispatchEvent(event)) return;
    const copied = await copyText(text);
    showError(
      copied ? "Copied: paste it into a new cell (with the neira lab extension this button inserts it)." : "Could not insert or copy the text here."
    );
  };
  view.button.addEventListener("click", () => {
    if (state === "recording") void stop();
    else if (state !== "connecting" && state !== "finishing") void record();
  });
  view.language.value = model.get("language");
  view.language.addEventListener("change", () => {
    model.set("language", view.language.value);
    model.save_changes();
  });
  view.correct.checked = model.get("correct");
  view.correct.addEventListener("change", () => {
    model.set("correct", view.correct.checked);
    model.save_changes();
  });
  view.final.insertButton.addEventListener("click", () => void insertCell());
  view.final.copyButton.addEventListener("click", async () => {
    view.final.flashCopy(await copyText(model.get("value")) ? "Copied" : "Copy failed");
  });
  const onLanguage = () => {
    view.language.value = model.get("language");
  };
  const onCorrect = () => {
    view.correct.checked = model.get("correct");
  };
  const onResult = () => view.final.show(model.get("result"));
  model.on("change:language", onLanguage);
  model.on("change:correct", onCorrect);
  model.on("change:result", onResult);
  view.final.show(model.get("result"));
  return () => {
    disposed = true;
    view.clock.stop();
    model.off("change:language", onLanguage);
    model.off("change:correct", onCorrect);
    model.off("change:result", onResult);
    transcription?.close();
    transcription = null;
    void releaseMicrophone();
  };
};
var widget_default = { render };
export {
  widget_default as default
};
