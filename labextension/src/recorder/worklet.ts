/**
 * The AudioWorklet that turns the microphone into what the speech socket takes:
 * 16 kHz mono s16le in 100 ms frames, each with its RMS level.
 *
 * Decimation by averaging: every output sample is the mean of the input
 * samples that fall in its 1/16000 s slot -- a box low-pass before the rate
 * change, enough against aliasing for speech recognition, and correct for any
 * device rate (48000, 44100, ...), not just integer ratios.
 *
 * The processor runs in the AudioWorkletGlobalScope, a separate realm loaded
 * from a Blob URL, so `definePcm16kProcessor` is shipped as its own source text
 * (`PCM16K_WORKLET_SOURCE`): it must not use anything from outside its body
 * except the worklet scope's globals declared below.
 */

/** The sample rate the speech socket takes. */
export const SAMPLE_RATE = 16000;
/** Samples per frame: 100 ms. */
export const FRAME_SAMPLES = 1600;
/** The name the processor is registered under. */
export const PCM16K_PROCESSOR = 'neira-pcm16k';

/** One frame posted by the processor: the PCM (transferred) and its RMS level (0..1). */
export interface PcmFrame {
  pcm: ArrayBuffer;
  level: number;
}

// The AudioWorkletGlobalScope's globals (not in TypeScript's DOM library).
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: typeof AudioWorkletProcessor): void;

/** Registers the processor; evaluated in the worklet scope only (see the module docstring). */
function definePcm16kProcessor(name: string, targetRate: number, frameSamples: number): void {
  class Pcm16kProcessor extends AudioWorkletProcessor {
    private readonly step: number;
    private phase: number;
    private acc: number;
    private count: number;
    private frame: Int16Array;
    private filled: number;
    private energy: number;

    constructor() {
      super();
      this.step = sampleRate / targetRate;
      this.phase = 0;
      this.acc = 0;
      this.count = 0;
      this.frame = new Int16Array(frameSamples);
      this.filled = 0;
      this.energy = 0;
    }

    process(inputs: Float32Array[][]): boolean {
      const input = inputs[0];
      if (!input || input.length === 0) return true;
      const channels = input.length;
      const length = input[0].length;
      for (let i = 0; i < length; i++) {
        let x = 0;
        for (let c = 0; c < channels; c++) x += input[c][i];
        this.acc += x / channels;
        this.count += 1;
        this.phase += 1;
        if (this.phase >= this.step) {
          this.phase -= this.step;
          this.push(Math.max(-1, Math.min(1, this.acc / this.count)));
          this.acc = 0;
          this.count = 0;
        }
      }
      return true;
    }

    /** Appends one output sample; posts the frame when it is full. */
    private push(y: number): void {
      this.energy += y * y;
      this.frame[this.filled++] = y < 0 ? y * 32768 : y * 32767;
      if (this.filled === this.frame.length) {
        const level = Math.sqrt(this.energy / this.filled);
        const pcm = this.frame.buffer as ArrayBuffer;
        this.port.postMessage({ pcm, level }, [pcm]);
        this.frame = new Int16Array(frameSamples);
        this.filled = 0;
        this.energy = 0;
      }
    }
  }
  registerProcessor(name, Pcm16kProcessor);
}

/** The worklet module's source text, for `audioWorklet.addModule` (through a Blob URL). */
export const PCM16K_WORKLET_SOURCE = `(${definePcm16kProcessor.toString()})(${JSON.stringify(
  PCM16K_PROCESSOR
)}, ${SAMPLE_RATE}, ${FRAME_SAMPLES});\n`;
