/**
 * What the Recorder widget shares with others: its synced state (the
 * traitlets of `neira_jupyter.kernel.widget.Recorder`, as the browser sees
 * them) and the event it raises for the lab extension.
 */
import type { AnyModel } from '@anywidget/types';

import type { FinalMessage } from '../protocol';
import type { Language } from './transcription';

/** What the widget is doing (`Recorder.status`; Python's `STATES`). */
export type RecorderStatus = 'idle' | 'connecting' | 'recording' | 'finishing' | 'done' | 'error';

/** No result yet (or cleared by `Recorder.clear()`). */
export type NoResult = Record<string, never>;

/** The traits tagged `sync=True` on `Recorder`. */
export interface RecorderState {
  language: Language;
  correct: boolean;
  value: string;
  result: FinalMessage | NoResult;
  status: RecorderStatus;
  error: string;
  stream_path: string;
}

/** The widget's model. */
export type RecorderModel = AnyModel<RecorderState>;

/** Whether `result` is a final message (not the empty result). */
export function isFinal(
  result: FinalMessage | NoResult | null | undefined
): result is FinalMessage {
  return Boolean(result && typeof result.text === 'string');
}

/**
 * The event "Insert as new cell" dispatches (bubbling, cancelable) with `InsertCellDetail`;
 * the lab extension inserts the text and cancels it, otherwise the widget copies the text.
 */
export const INSERT_CELL_EVENT = 'neira:insert-cell';

/** The detail of `INSERT_CELL_EVENT`. */
export interface InsertCellDetail {
  text: string;
}
