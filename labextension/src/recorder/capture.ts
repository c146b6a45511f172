/**
 * The microphone: `startCapture` opens it and feeds the PCM worklet
 * (`./worklet`); `CaptureError` says, in words a user can act on, why it
 * could not start.
 *
 * Echo cancellation, noise suppression and auto gain are off, so the speech
 * model gets the microphone's samples nearly unchanged.
 */
import { PCM16K_PROCESSOR, PCM16K_WORKLET_SOURCE, PcmFrame } from './worklet';

/** Why the microphone could not start. */
export type CaptureErrorKind = 'denied' | 'nomic' | 'unsupported' | 'failed';

/** An error a user can act on; `kind` says which. */
export class CaptureError extends Error {
  constructor(
    readonly kind: CaptureErrorKind,
    message: string
  ) {
    super(message);
  }
}

/** What `startCapture` calls: every 100 ms of 16 kHz s16le, and the level of each chunk. */
export interface CaptureOptions {
  onChunk: (pcm: ArrayBuffer) => void;
  onLevel?: (rms: number) => void;
}

/** A running capture; `stop()` releases the microphone (tracks stopped, audio context closed). */
export interface Capture {
  readonly sampleRate: number;
  stop(): Promise<void>;
}

/** The `CaptureError` for what `getUserMedia` or the audio graph threw. */
function captureError(err: unknown): CaptureError {
  const { name, message } = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    message?: unknown;
  };
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new CaptureError(
      'denied',
      'Microphone access was denied. Allow the microphone for this page (the icon in the ' +
        'address bar) and press Record again.'
    );
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') {
    return new CaptureError(
      'nomic',
      'No usable microphone was found. Connect one (or free it from another application) ' +
        'and press Record again.'
    );
  }
  return new CaptureError('failed', `Could not start the microphone: ${String(message)}`);
}

/** Loads the PCM worklet into `context` from its source text. */
async function addPcmWorklet(context: AudioContext): Promise<void> {
  const blob = new Blob([PCM16K_WORKLET_SOURCE], { type: 'text/javascript' });
  const url = URL.createObjectURL(blob);
  try {
    await context.audioWorklet.addModule(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Starts the microphone; rejects with a `CaptureError`. */
export async function startCapture({ onChunk, onLevel }: CaptureOptions): Promise<Capture> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new CaptureError(
      'unsupported',
      'This page cannot use a microphone: open Jupyter over https or on localhost.'
    );
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }
    });
  } catch (err) {
    throw captureError(err);
  }
  const stopTracks = (): void => stream.getTracks().forEach(track => track.stop());
  let context: AudioContext | null = null;
  try {
    context = new AudioContext();
    await addPcmWorklet(context);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, PCM16K_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCountMode: 'explicit',
      channelCount: 1
    });
    node.port.onmessage = (event: MessageEvent<PcmFrame>) => {
      onChunk(event.data.pcm);
      onLevel?.(event.data.level);
    };
    source.connect(node);
    node.connect(context.destination); // outputs silence; keeps the node pulled
    if (context.state === 'suspended') await context.resume();
    let stopped = false;
    const running = context;
    return {
      sampleRate: running.sampleRate,
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        node.port.onmessage = null;
        source.disconnect();
        node.disconnect();
        stopTracks();
        await running.close();
      }
    };
  } catch (err) {
    stopTracks();
    void context?.close();
    throw err instanceof CaptureError ? err : captureError(err);
  }
}
