/**
 * What dictation writes: the partial transcript the indicator shows, the
 * cell's new source with the dictated text appended, and the note shown
 * once it is inserted. Pure (no DOM, no JupyterLab imports): `./dictation`
 * uses these, and the unit tests (labextension/test/) check them.
 */
import type { FinalMessage } from './protocol';
import { LiveParts, liveLine } from './recorder/liveText';

/** The indicator's text while speaking: corrected text, confirmed words, the tentative tail. */
export function partialText(parts: LiveParts): string {
  return liveLine(parts) || 'Listening…';
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
