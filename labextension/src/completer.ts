/**
 * Inline code completions from the resident model: a provider for
 * JupyterLab's inline completer (JupyterLab 4.1+, Notebook 7).
 *
 * While you type in a notebook cell or a file editor, `fetch` waits for the
 * debounce, then asks `POST neira/api/complete` for the gap at the cursor
 * (the code before and after it, and a notebook's other cells as context)
 * and returns as soon as the first token arrives; `stream` hands the
 * completer the rest as it is decoded (`isIncomplete` until the end). The
 * next keystroke aborts the completion in flight at once (closing its
 * request cancels it on the server, so stale suggestions never keep the
 * shared model busy); every request also names its editor (`stream_key`),
 * so the server cancels that editor's previous completion when a new one
 * arrives. A fetch that a newer keystroke superseded during its debounce
 * asks nothing.
 * Tab (the completer's accept command) takes the suggestion.
 */
import { URLExt } from '@jupyterlab/coreutils';
import {
  CompletionHandler,
  IInlineCompletionContext,
  IInlineCompletionItem,
  IInlineCompletionList,
  IInlineCompletionProvider
} from '@jupyterlab/completer';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';

import type { CompleteRequest, GenerateEvent } from './protocol';

/** The settings of `schema/completer.json`. */
export interface ICompleterSettings {
  enabled: boolean;
  debounceMs: number;
  maxLines: number;
  maxTokens: number;
}

export const DEFAULT_COMPLETER_SETTINGS: ICompleterSettings = {
  enabled: true,
  debounceMs: 250,
  maxLines: 8,
  maxTokens: 64
};

/** The other cells of a notebook, at most this many characters in all (nearest first). */
const MAX_CONTEXT_CHARS = 6000;

/** One completion being streamed: its text so far, whether it ended, who waits. */
class PendingCompletion {
  text = '';
  done = false;
  /** Aborts the request: typing went on. */
  readonly controller = new AbortController();
  private wake: (() => void) | null = null;

  push(piece: string): void {
    this.text += piece;
    this.notify();
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  /** Typing went on: stop reading and close the request (the server cancels it). */
  cancel(): void {
    this.controller.abort();
    this.end();
  }

  /** Resolves at the next change (a token or the end). */
  changed(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise(resolve => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** The inline completion provider backed by `neira/api/complete`. */
export class NeiraInlineProvider implements IInlineCompletionProvider {
  readonly identifier = 'neira-jupyter:inline';
  readonly name = 'neira (local model)';
  /** The inline completer's own settings for this provider: also in the middle of a line. */
  readonly schema = {
    default: { autoFillInMiddle: true, debouncerDelay: 0, timeout: 15000 }
  };
  settings: ICompleterSettings = { ...DEFAULT_COMPLETER_SETTINGS };

  private serial = 0;
  private pending = new Map<string, PendingCompletion>();

  async fetch(
    request: CompletionHandler.IRequest,
    context: IInlineCompletionContext
  ): Promise<IInlineCompletionList> {
    const none: IInlineCompletionList = { items: [] };
    if (!this.settings.enabled) return none;
    const mine = ++this.serial;
    for (const old of this.pending.values()) old.cancel(); // this keystroke makes it stale
    this.pending.clear();
    await new Promise(resolve => setTimeout(resolve, this.settings.debounceMs));
    if (mine !== this.serial) return none; // typing went on: a newer fetch asks instead
    const prefix = request.text.slice(0, request.offset);
    const suffix = request.text.slice(request.offset);
    if (!prefix.trim()) return none;
    const body: CompleteRequest = {
      prefix,
      suffix,
      context: notebookContext(context),
      language: languageOf(request.mimeType),
      max_tokens: this.settings.maxTokens,
      max_lines: this.settings.maxLines,
      stream_key: `lab-${context.widget.id}`.replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 128),
      stream: true
    } as CompleteRequest;
    const completion = new PendingCompletion();
    const token = `neira-${mine}`;
    this.pending.set(token, completion);
    void this.run(body, completion);
    while (!completion.text && !completion.done) await completion.changed();
    if (!completion.text || mine !== this.serial) {
      this.pending.delete(token);
      return none;
    }
    const item: IInlineCompletionItem = {
      insertText: completion.text,
      isIncomplete: !completion.done,
      token
    };
    if (completion.done) this.pending.delete(token);
    return { items: [item] };
  }

  async *stream(token: string): AsyncGenerator<{ response: IInlineCompletionItem }> {
    const completion = this.pending.get(token);
    if (!completion) return;
    let shown = completion.text;
    while (!completion.done) {
      await completion.changed();
      if (completion.text !== shown || completion.done) {
        shown = completion.text;
        yield {
          response: { insertText: shown, isIncomplete: !completion.done, token }
        };
      }
    }
    this.pending.delete(token);
  }

  /** Read the NDJSON stream of `POST neira/api/complete` into `completion`. */
  private async run(body: CompleteRequest, completion: PendingCompletion): Promise<void> {
    const settings = ServerConnection.makeSettings();
    const url = URLExt.join(settings.baseUrl, 'neira', 'api', 'complete');
    try {
      const response = await ServerConnection.makeRequest(
        url,
        { method: 'POST', body: JSON.stringify(body), signal: completion.controller.signal },
        settings
      );
      if (!response.ok || !response.body) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as GenerateEvent;
          if (event.type === 'token') completion.push(event.text);
          if (completion.done) {
            await reader.cancel(); // superseded: closing the stream cancels it on the server
            return;
          }
        }
      }
    } catch (error) {
      if (!completion.controller.signal.aborted) {
        console.debug('neira: completion failed', error);
      }
    } finally {
      completion.end();
    }
  }
}

/** The code's language from the editor's MIME type (`text/x-ipython` -> `python`). */
export function languageOf(mimeType: string | undefined): string {
  const mime = (mimeType ?? '').toLowerCase();
  if (mime.includes('python')) return 'python';
  const name = mime.split('/').pop()?.replace(/^x-/, '') ?? '';
  return /^[a-z0-9_+#.-]{1,32}$/.test(name) ? name : 'python';
}

/** A notebook's code cells other than the active one, nearest kept when they are long. */
function notebookContext(context: IInlineCompletionContext): string[] {
  const widget = context.widget;
  if (!(widget instanceof NotebookPanel)) return [];
  const notebook = widget.content;
  const active = notebook.activeCellIndex;
  const cells: string[] = [];
  let total = 0;
  for (let i = active - 1; i >= 0; i--) {
    const cell = notebook.widgets[i];
    if (cell.model.type !== 'code') continue;
    const source = cell.model.sharedModel.getSource();
    if (!source.trim()) continue;
    if (total + source.length > MAX_CONTEXT_CHARS) break;
    total += source.length;
    cells.unshift(source);
  }
  return cells;
}
