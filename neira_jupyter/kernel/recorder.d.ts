// Types of the capture helpers in recorder.js, for the lab extension (labextension/src).

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

export interface PartialMessage {
  type: 'partial';
  confirmed: string;
  tentative: string;
  segment: number;
  audio_s: number;
}

export interface CorrectionDocument {
  raw: string;
  corrected: string;
  degraded: boolean;
  reason: string | null;
  model: string | null;
  changes: { op: string; raw: string; corrected: string }[];
}

export interface FinalMessage {
  type: 'final';
  raw: string;
  text: string;
  language: string;
  duration: number;
  correction: CorrectionDocument | null;
}

export interface Transcription {
  send(pcm: ArrayBuffer): void;
  stop(): void;
  close(): void;
}

export declare function openTranscription(options: {
  wsUrl: string;
  token: string;
  path?: string;
  language?: string;
  correct?: boolean;
  onPartial?: (message: PartialMessage) => void;
  onFinal?: (message: FinalMessage) => void;
  onError?: (message: string) => void;
}): Transcription;

export declare function pageConnection(): { wsUrl: string; token: string } | null;
