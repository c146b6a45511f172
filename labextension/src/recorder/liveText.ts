/**
 * What a live stream shows while the user speaks: the corrected text of the
 * segments corrected so far (`corrected` messages), then the confirmed words
 * those do not cover yet, then the tentative tail (`partial` messages). The
 * server corrects each committed segment while the stream goes on, so the
 * corrected sentence grows behind the words still being heard. Pure (no DOM):
 * the Recorder widget's view and the Dictate indicator draw it.
 */
import type { CorrectedMessage, PartialMessage } from '../protocol';

/** The three runs of text to show, in order. */
export interface LiveParts {
  /** The corrected segments' text. */
  corrected: string;
  /** Confirmed words not yet corrected. */
  confirmed: string;
  /** Words that may still change. */
  tentative: string;
}

/** A stream's text so far, from its `partial` and `corrected` messages. */
export class LiveText {
  private correctedText = '';
  private coveredWords = 0;
  private partial: PartialMessage | null = null;

  /** A `partial` message arrived. */
  heard(message: PartialMessage): LiveParts {
    this.partial = message;
    return this.parts();
  }

  /** A `corrected` message arrived: its text follows the corrected text so far. */
  corrected(message: CorrectedMessage): LiveParts {
    this.correctedText = joinWords(this.correctedText, message.text);
    this.coveredWords = message.covered_words;
    return this.parts();
  }

  /** What to show now. */
  parts(): LiveParts {
    const confirmed = words(this.partial?.confirmed ?? '');
    return {
      corrected: this.correctedText,
      confirmed: confirmed.slice(this.coveredWords).join(' '),
      tentative: this.partial?.tentative ?? ''
    };
  }

  /** Forget the stream (a new one starts). */
  reset(): void {
    this.correctedText = '';
    this.coveredWords = 0;
    this.partial = null;
  }
}

/** The parts as one line of text (the Dictate indicator's), empty runs left out. */
export function liveLine(parts: LiveParts): string {
  return [parts.corrected, parts.confirmed, parts.tentative].filter(Boolean).join(' ');
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

function joinWords(before: string, after: string): string {
  return [before, after].filter(Boolean).join(' ');
}
