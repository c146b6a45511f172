/**
 * neira-jupyter in JupyterLab 4 and Notebook 7.
 *
 * - A status-bar item polls `neira/api/status` and shows the live model, the
 *   route (primary / fallback / degraded), memory (pressure level and free
 *   memory) and the queue. The answer's type, `StatusDocument`, is generated
 *   from the Python protocol (`./protocol.ts`, `npm run build:protocol`).
 * - The `neira:dictate` command (notebook toolbar button, Accel+Shift+D)
 *   records from the microphone, shows partial transcripts while you speak,
 *   and on the second press inserts the corrected text into the active cell.
 *
 * The audio capture and the streaming socket are the Recorder widget's own
 * code (`neira_jupyter/kernel/recorder.js`), imported here so both share one
 * implementation. The socket goes from this page straight to the Jupyter
 * server, authenticated like every other Jupyter WebSocket.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import {
  Capture,
  Transcription,
  openTranscription,
  startCapture
} from '../../neira_jupyter/kernel/recorder.js';
import type {
  ErrorBody,
  FinalMessage,
  MemoryStatus,
  StatusDocument,
  StreamStart
} from './protocol';

/** A speech language the server accepts. */
type Language = NonNullable<StreamStart['language']>;

const PLUGIN_ID = 'neira-jupyter:plugin';
const COMMAND = 'neira:dictate';

/** An error answer of the neira API, with the server's message. */
export class NeiraRequestError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/**
 * Call `neira/api/{endpoint}` on the Jupyter server with the page's
 * credentials; failures become `NeiraRequestError`s carrying the server's message.
 */
export async function requestAPI<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'neira', 'api', endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new NeiraRequestError(0, `cannot reach the server: ${String(error)}`);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const message =
      body !== null && typeof body === 'object' && 'message' in body
        ? String((body as ErrorBody).message)
        : response.statusText;
    throw new NeiraRequestError(response.status, message);
  }
  return body as T;
}

/** Free memory in MiB as a short figure: "20.0 GiB", "900 MiB", or "?" before a reading. */
export function formatMiB(mib: number | null): string {
  if (mib === null) return '?';
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(0)} MiB`;
}

/** The memory part of the status bar: free memory and the pressure level. */
export function memoryLabel(memory: MemoryStatus): string {
  return `${formatMiB(memory.free_mib)} free (${memory.level})`;
}

/** The status-bar item: model, route, memory, queue. */
class StatusItem extends Widget {
  private timer: number | null = null;

  constructor(private intervalSeconds: number) {
    super();
    this.addClass('neira-status');
    this.node.textContent = 'neira: …';
  }

  setInterval(seconds: number): void {
    this.intervalSeconds = seconds;
    this.start();
  }

  start(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), this.intervalSeconds * 1000);
  }

  dispose(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    try {
      const status = await requestAPI<StatusDocument>('status');
      const route = status.route.backend;
      const model = status.route.model ?? 'no model';
      const memory = memoryLabel(status.memory);
      const queue = `${status.queue.running} running, ${status.queue.depth}/${status.queue.capacity} queued`;
      this.node.dataset.route = route;
      this.node.dataset.pressure = status.memory.level;
      this.node.textContent = `neira: ${model} · ${route} · ${memory} · ${status.queue.depth} queued`;
      this.node.title = [
        `model: ${model}${status.demo ? ' (demo)' : ''}`,
        `route: ${route} (${status.route.reason})`,
        `memory: ${memory} from ${status.memory.source}; ${status.memory.reason}`,
        `queue: ${queue}`,
        ...status.models.map(m => `${m.role}: ${m.name} ${m.state}`)
      ].join('\n');
    } catch (error) {
      this.node.dataset.route = 'degraded';
      this.node.textContent = 'neira: unavailable';
      this.node.title = error instanceof Error ? error.message : String(error);
    }
  }
}

/** The small floating indicator shown while dictating. */
class DictationIndicator {
  readonly node: HTMLDivElement;
  private readonly time: HTMLSpanElement;
  private readonly text: HTMLSpanElement;
  private timer: number | null = null;
  private hideTimer: number | null = null;

  constructor() {
    this.node = document.createElement('div');
    this.node.className = 'neira-dictation';
    this.node.dataset.state = 'idle';
    const dot = document.createElement('span');
    dot.className = 'neira-dictation-dot';
    this.time = document.createElement('span');
    this.time.className = 'neira-dictation-time';
    this.text = document.createElement('span');
    this.text.className = 'neira-dictation-text';
    this.node.append(dot, this.time, this.text);
    document.body.append(this.node);
  }

  show(state: string, text: string): void {
    if (this.hideTimer !== null) window.clearTimeout(this.hideTimer);
    this.node.dataset.state = state;
    this.node.classList.add('neira-visible');
    this.text.textContent = text;
    if (state === 'recording') {
      const started = performance.now();
      this.time.textContent = '0:00.0';
      this.timer = window.setInterval(() => {
        const seconds = (performance.now() - started) / 1000;
        const minutes = Math.floor(seconds / 60);
        this.time.textContent = `${minutes}:${(seconds % 60).toFixed(1).padStart(4, '0')}`;
      }, 100);
    } else if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
    if (state === 'done' || state === 'error') {
      this.hideTimer = window.setTimeout(() => this.node.classList.remove('neira-visible'), 6000);
    }
  }

  dispose(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.node.remove();
  }
}

/** One dictation: microphone -> server -> text inserted into a cell. */
class Dictation {
  private capture: Capture | null = null;
  private transcription: Transcription | null = null;
  state: 'idle' | 'recording' | 'finishing' = 'idle';

  constructor(
    private readonly indicator: DictationIndicator,
    private readonly onChange: () => void
  ) {}

  async start(panel: NotebookPanel, language: Language, correct: boolean): Promise<void> {
    const settings = ServerConnection.makeSettings();
    const cellIndex = panel.content.activeCellIndex;
    this.state = 'recording';
    this.onChange();
    this.indicator.show('recording', 'Listening…');
    this.transcription = openTranscription({
      wsUrl: settings.wsUrl,
      token: settings.token,
      language,
      correct,
      onPartial: message => {
        const tentative = message.tentative ? ` ${message.tentative}` : '';
        this.indicator.show('recording', `${message.confirmed}${tentative}` || 'Listening…');
      },
      onFinal: message => this.insert(panel, cellIndex, message),
      onError: message => void this.fail(message)
    });
    try {
      this.capture = await startCapture({
        onChunk: pcm => this.transcription?.send(pcm)
      });
    } catch (error) {
      await this.fail(error instanceof Error ? error.message : String(error));
    }
  }

  async stop(): Promise<void> {
    this.state = 'finishing';
    this.onChange();
    this.indicator.show('finishing', 'Transcribing…');
    await this.release();
    this.transcription?.stop();
  }

  private async release(): Promise<void> {
    const capture = this.capture;
    this.capture = null;
    if (capture) await capture.stop();
  }

  private async fail(message: string): Promise<void> {
    await this.release();
    this.transcription?.close();
    this.transcription = null;
    this.state = 'idle';
    this.onChange();
    this.indicator.show('error', message);
  }

  private insert(panel: NotebookPanel, cellIndex: number, message: FinalMessage): void {
    this.transcription = null;
    this.state = 'idle';
    this.onChange();
    const cells = panel.content.widgets;
    const cell = cells[cellIndex] ?? panel.content.activeCell;
    if (!cell || panel.isDisposed) {
      this.indicator.show('error', 'The notebook was closed before the text arrived.');
      return;
    }
    const source = cell.model.sharedModel.getSource();
    const separator = source && !/\s$/.test(source) ? ' ' : '';
    cell.model.sharedModel.setSource(source + separator + message.text);
    const note = message.correction?.degraded ? ` (not corrected: ${message.correction.reason})` : '';
    this.indicator.show('done', `Inserted: ${message.text}${note}`);
  }
}

/** Insert text from the Recorder widget's "Insert as new cell" button below the widget's cell. */
function handleInsertCell(tracker: INotebookTracker, event: Event): void {
  const detail = (event as CustomEvent<{ text?: unknown }>).detail;
  const target = event.target;
  if (!detail || typeof detail.text !== 'string' || !(target instanceof Node)) return;
  const panel = tracker.find(p => p.node.contains(target));
  if (!panel) return;
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(cell => cell.node.contains(target));
  if (index >= 0) notebook.activeCellIndex = index;
  const model = notebook.model;
  if (!model) return;
  model.sharedModel.insertCell(index + 1, { cell_type: 'code', source: detail.text });
  notebook.activeCellIndex = index + 1;
  event.preventDefault();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'neira status in the status bar and a Dictate command for notebooks.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IStatusBar, ILabShell],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ) => {
    let language: Language = 'auto';
    let correct = true;
    let interval = 5;
    const status = new StatusItem(interval);
    const indicator = new DictationIndicator();
    const dictation = new Dictation(indicator, () => app.commands.notifyCommandChanged(COMMAND));

    app.commands.addCommand(COMMAND, {
      label: () => (dictation.state === 'recording' ? 'Stop dictation' : 'Dictate'),
      caption: 'Dictate into the active cell (press again to stop)',
      isToggled: () => dictation.state === 'recording',
      isEnabled: () => tracker.currentWidget !== null && dictation.state !== 'finishing',
      execute: async () => {
        if (dictation.state === 'recording') {
          await dictation.stop();
          return;
        }
        const panel = tracker.currentWidget;
        if (panel) await dictation.start(panel, language, correct);
      }
    });
    tracker.currentChanged.connect(() => app.commands.notifyCommandChanged(COMMAND));
    document.addEventListener('neira:insert-cell', event => handleInsertCell(tracker, event));

    if (settingRegistry) {
      try {
        const settings = await settingRegistry.load(PLUGIN_ID);
        const apply = (): void => {
          language = settings.get('language').composite as Language;
          correct = settings.get('correct').composite as boolean;
          interval = settings.get('statusInterval').composite as number;
          status.setInterval(interval);
        };
        apply();
        settings.changed.connect(apply);
      } catch (error) {
        console.warn('neira: cannot load settings', error);
      }
    }
    if (statusBar) {
      statusBar.registerStatusItem(PLUGIN_ID, { item: status, align: 'left', rank: 100 });
      status.start();
    }
  }
};

export default plugin;
