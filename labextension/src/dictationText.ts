/**
 * What dictation writes: the partial transcript the indicator shows, the
 * cell's new source with the dictated text appended, and the note shown
 * once it is inserted. Pure (no DOM, no JupyterLab imports): `./dictation`
 * uses these, and the unit tests (labextension/test/) check them.
 */
import type { FinalMessage, PartialMessage } from './protocol';

/** The indicator's text for a partial transcript: confirmed words, then the tentative tail. */
export function partialText(message: PartialMessage): string {
  const tentative = message.tentative ? ` ${message.tentative}` : '';
  return `${message.confirmed}${tentative}` || 'Listening…';
}

/** `source` with `text` appended, a space between them unless `source` is empty or ends in one. */
export function appendDictated(source: string, text: string): string {
  const separator = source && !/\s$/.test(source) ? ' ' : '';
  return source + separator + text;
}

/** The indicator's text once the text is inserted, saying when it was not corrected. */
export function insertedText(message: FinalMessage): string {
  const note = message.correction?.degraded ? ` (not corrected: ${message.correction.reason})` : '';
  return `${message.text}${note}`;
}
