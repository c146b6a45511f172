/**
 * What Neira's chat persona sees of the notebook: this page posts a snapshot
 * of the active notebook to `neira/chat/context` (docs/chat.md).
 *
 * The server cannot see unsaved cells, outputs or the selection; this page
 * can. When the active cell changes, when the notebook's cells or outputs
 * change (debounced), and when a chat input takes the focus, it posts the
 * notebook's path and kernel id, its cells (source and outputs as plain
 * text, trimmed), the active cell's index, the selected text and the last
 * error. The persona reads the latest snapshot of the user it answers.
 */
import { URLExt } from '@jupyterlab/coreutils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';

const MAX_CELLS = 400;
const MAX_SOURCE = 19000;
const MAX_OUTPUT = 3500;
const DEBOUNCE_MS = 500;
const ANSI = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*[A-Za-z]', 'g');

/** An output as nbformat's JSON (the fields read here). */
interface IOutput {
  output_type?: string;
  text?: string | string[];
  data?: Record<string, string | string[] | undefined>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

interface ICellSnapshot {
  kind: 'code' | 'markdown' | 'raw';
  source: string;
  outputs: string;
}

interface IErrorSnapshot {
  cell: number;
  ename: string;
  evalue: string;
  traceback: string;
}

export interface INotebookSnapshot {
  path: string;
  kernel_id: string | null;
  active: number;
  cells: ICellSnapshot[];
  selection: string;
  error: IErrorSnapshot | null;
}

/** The middle of a long text is cut: its start and end say most. */
export function trimMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 5) / 2);
  return `${text.slice(0, half)}\n...\n${text.slice(text.length - half)}`;
}

function outputText(output: IOutput): string {
  switch (output.output_type) {
    case 'stream':
      return [output.text].flat().join('');
    case 'execute_result':
    case 'display_data':
      return [output.data?.['text/plain'] ?? ''].flat().join('');
    case 'error':
      return `${output.ename}: ${output.evalue}`;
    default:
      return '';
  }
}

/** The snapshot of one notebook panel, as `NotebookSnapshot` (neira_jupyter/context/snapshot.py). */
export function snapshotOf(panel: NotebookPanel): INotebookSnapshot {
  const notebook = panel.content;
  const cells: ICellSnapshot[] = [];
  let error: IErrorSnapshot | null = null;
  const model = notebook.model;
  const count = model ? Math.min(model.cells.length, MAX_CELLS) : 0;
  for (let i = 0; i < count; i++) {
    const cell = model!.cells.get(i);
    const kind = cell.type as ICellSnapshot['kind'];
    let outputs = '';
    if (kind === 'code') {
      const list = (cell as unknown as { outputs: { toJSON(): IOutput[] } }).outputs.toJSON();
      outputs = list.map(outputText).join('\n').replace(ANSI, '');
      const failed = list.find(o => o.output_type === 'error');
      if (
        failed &&
        (error === null ||
          i === notebook.activeCellIndex ||
          error.cell !== notebook.activeCellIndex)
      ) {
        const traceback = [failed.traceback ?? []].flat().join('\n').replace(ANSI, '');
        error = {
          cell: i,
          ename: String(failed.ename ?? '').slice(0, 200),
          evalue: String(failed.evalue ?? '').slice(0, 2000),
          traceback: trimMiddle(traceback, MAX_OUTPUT)
        };
      }
    }
    cells.push({
      kind: kind === 'markdown' || kind === 'raw' ? kind : 'code',
      source: trimMiddle(cell.sharedModel.getSource(), MAX_SOURCE),
      outputs: trimMiddle(outputs, MAX_OUTPUT)
    });
  }
  let selection = '';
  const editor = notebook.activeCell?.editor;
  if (editor) {
    const range = editor.getSelection();
    const start = editor.getOffsetAt(range.start);
    const end = editor.getOffsetAt(range.end);
    if (end > start) selection = editor.model.sharedModel.getSource().slice(start, end);
  }
  return {
    path: panel.context.path.slice(0, 1000),
    kernel_id: panel.sessionContext.session?.kernel?.id ?? null,
    active: Math.max(0, Math.min(notebook.activeCellIndex, Math.max(count - 1, 0))),
    cells,
    selection: trimMiddle(selection, MAX_SOURCE),
    error
  };
}

/** Keeps the server's snapshot of the active notebook current. */
export class ChatContext {
  private timer: number | null = null;
  private watched: NotebookPanel | null = null;

  constructor(private readonly tracker: INotebookTracker) {
    tracker.currentChanged.connect(() => this.watch());
    tracker.activeCellChanged.connect(() => this.schedule());
    tracker.selectionChanged.connect(() => this.schedule());
    document.addEventListener(
      'focusin',
      event => {
        const target = event.target as Element | null;
        if (target?.closest?.('.jp-chat-input-container')) void this.post();
      },
      true
    );
    this.watch();
  }

  private watch(): void {
    const panel = this.tracker.currentWidget;
    if (panel === this.watched) return;
    this.watched?.model?.contentChanged.disconnect(this.schedule, this);
    this.watched = panel;
    panel?.model?.contentChanged.connect(this.schedule, this);
    panel?.context.ready.then(() => {
      if (this.watched === panel) {
        panel.model?.contentChanged.disconnect(this.schedule, this);
        panel.model?.contentChanged.connect(this.schedule, this);
      }
    });
    this.schedule();
  }

  schedule(): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.post(), DEBOUNCE_MS);
  }

  /** Post the active notebook's snapshot now (nothing when no notebook is open). */
  async post(): Promise<void> {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    const panel = this.tracker.currentWidget;
    if (!panel) return;
    const settings = ServerConnection.makeSettings();
    const url = URLExt.join(settings.baseUrl, 'neira', 'chat', 'context');
    try {
      await ServerConnection.makeRequest(
        url,
        { method: 'POST', body: JSON.stringify(snapshotOf(panel)) },
        settings
      );
    } catch (error) {
      console.warn('neira: cannot post the chat context', error);
    }
  }
}
