// Types of the capture helpers in recorder.js, for the lab extension (labextension/src).
// The messages of the live-speech socket are the generated protocol types
// (labextension/src/protocol.ts, from neira_jupyter/protocol/schema.json).

import type {
  CorrectResult,
  FinalMessage,
  PartialMessage,
  StreamStart
} from '../../labextension/src/protocol';

export type { CorrectResult, FinalMessage, PartialMessage };

export declare class CaptureError extends Error {
  readonly kind: 'denied' | 'nomic' | 'unsupported' | 'failed';
}

export interface Capture {
  readonly sampleRate: number;
  stop(): Promise<void>;
}

export declare function startCapture(options: {
  onChunk: (pcm: ArrayBuffer) => void;
  onLevel?: (rms: number) => void;
}): Promise<Capture>;

export interface Transcription {
  send(pcm: ArrayBuffer): void;
  stop(): void;
  close(): void;
}

export declare function openTranscription(options: {
  wsUrl: string;
  token: string;
  path?: string;
  language?: StreamStart['language'];
  correct?: boolean;
  onPartial?: (message: PartialMessage) => void;
  onFinal?: (message: FinalMessage) => void;
  onError?: (message: string) => void;
}): Transcription;

export declare function pageConnection(): { wsUrl: string; token: string } | null;

export declare function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K];

export declare function formatTime(ms: number): string;

export interface LevelMeter {
  readonly node: HTMLDivElement;
  set(rms: number): void;
  reset(): void;
}

export declare function levelMeter(className: string): LevelMeter;

export interface ElapsedClock {
  readonly node: HTMLSpanElement;
  start(): void;
  stop(): void;
}

export declare function elapsedClock(className: string): ElapsedClock;
