/**
 * The Recorder widget's result panel: the raw transcript, the corrected
 * text, the word diff between them, a note on the correction, and the
 * "Insert as new cell" and "Copy" buttons.
 */
import type { Change, FinalMessage } from '../protocol';
import { h } from './elements';
import { NoResult, isFinal } from './model';

/** The word diff as `<del>` / `<ins>` spans; nothing when nothing changed. */
export function renderDiff(container: HTMLElement, changes: readonly Change[]): void {
  container.replaceChildren();
  // Nothing changed: the transcript row already says it all.
  if (!changes.some(change => change.op !== 'equal')) return;
  for (const change of changes) {
    if (change.op === 'equal') {
      container.append(h('span', 'neira-eq', change.raw), ' ');
      continue;
    }
    if (change.raw) container.append(h('del', 'neira-del', change.raw), ' ');
    if (change.corrected) container.append(h('ins', 'neira-ins', change.corrected), ' ');
  }
}

/** Who corrected the text, or why it was not corrected. */
export function correctionNote(result: FinalMessage): string {
  const correction = result.correction;
  if (!correction) return 'Correction was off.';
  if (correction.degraded) return `Not corrected: ${correction.reason}`;
  return `Corrected by ${correction.model}.`;
}

/** The result rows and their buttons; hidden until there is a result. */
export class FinalView {
  readonly node = h('div', 'neira-final');
  readonly insertButton = h('button', 'neira-insert', 'Insert as new cell');
  readonly copyButton = h('button', 'neira-copy', 'Copy');
  private readonly raw = h('span', 'neira-final-raw');
  private readonly text = h('span', 'neira-final-text');
  private readonly diff = h('div', 'neira-final-diff');
  private readonly note = h('div', 'neira-final-note');

  constructor() {
    const rawRow = h('div', 'neira-final-row');
    rawRow.append(h('b', '', 'Transcript: '), this.raw);
    const textRow = h('div', 'neira-final-row');
    textRow.append(h('b', '', 'Corrected: '), this.text);
    const actions = h('div', 'neira-final-actions');
    this.insertButton.type = this.copyButton.type = 'button';
    this.insertButton.setAttribute('aria-label', 'Insert the corrected text as a new cell');
    this.copyButton.setAttribute('aria-label', 'Copy the corrected text');
    actions.append(this.insertButton, this.copyButton);
    this.node.append(rawRow, textRow, this.diff, this.note, actions);
  }

  /** Shows `result`, or hides the panel when there is none. */
  show(result: FinalMessage | NoResult | null): void {
    const hasResult = isFinal(result);
    this.node.classList.toggle('neira-visible', hasResult);
    if (!hasResult) return;
    this.raw.textContent = result.raw || '';
    this.text.textContent = result.text || '';
    renderDiff(this.diff, result.correction?.changes ?? []);
    this.note.textContent = correctionNote(result);
  }

  /** Shows `label` on the Copy button for 1.5 s. */
  flashCopy(label: string): void {
    this.copyButton.textContent = label;
    window.setTimeout(() => (this.copyButton.textContent = 'Copy'), 1500);
  }
}
