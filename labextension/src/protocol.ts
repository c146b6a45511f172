/* Generated from neira_jupyter/protocol/schema.json by json-schema-to-typescript
 * (`npm run build:protocol` in labextension/). Do not edit.
 * schema sha256: 7f612e702b293cdcff58568d392281881d00298f603a203641bcfe1fefb489c6 */

/**
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CorrectEvent".
 */
export type CorrectEvent = CorrectedMessage | CorrectDoneEvent | ErrorEvent;
/**
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "GenerateClientMessage".
 */
export type GenerateClientMessage = GenerateMessage | CancelMessage;
/**
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "GenerateEvent".
 */
export type GenerateEvent = StartEvent | TokenEvent | DoneEvent | ErrorEvent;
/**
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StreamControl".
 */
export type StreamControl = StreamStart | StreamStop | StreamCancel;
/**
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StreamMessage".
 */
export type StreamMessage = StartedMessage | PartialMessage | CorrectedMessage | FinalMessage | ErrorEvent;
/**
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TranscribeEvent".
 */
export type TranscribeEvent = TranscribedEvent | CorrectedMessage | TranscribeDoneEvent | ErrorEvent;

/**
 * Every message of the neira-jupyter API (docs/api.md).
 */
export interface NeiraProtocol {
  [k: string]: unknown;
}
/**
 * One route candidate as the router knows it.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "BackendInfo".
 */
export interface BackendInfo {
  model: string;
  state: "unloaded" | "loading" | "ready" | "failed";
  inflight: number;
  failures: number;
  last_failure: string | null;
  /**
   * load or unload while it is carried out.
   */
  pending: string | null;
  estimate: MemoryEstimate | null;
}
/**
 * What loading a GGUF model takes.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "MemoryEstimate".
 */
export interface MemoryEstimate {
  total_mib: number;
  file_mib: number;
  kv_cache_mib: number;
  overhead_mib: number;
  note: string;
}
/**
 * A local LLM's batch (any ``llm_slots``): its sequence slots and KV cache, once loaded.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "BatchInfo".
 */
export interface BatchInfo {
  /**
   * Sequences decoded together in one batch.
   */
  slots: number;
  /**
   * Sequences in the batch now.
   */
  running: number | null;
  /**
   * Of those, still reading their prompt.
   */
  prefilling: number | null;
  /**
   * Requests waiting for a slot.
   */
  waiting: number | null;
  kv_used_tokens: number | null;
  kv_capacity_tokens: number | null;
  /**
   * Share of the KV cache in use (0-1).
   */
  kv_use: number | null;
  /**
   * Tokens generated per second over the last minute.
   */
  tokens_per_second_1m: number | null;
  /**
   * Prompt tokens found in the KV cache since loading (not evaluated again).
   */
  prompt_tokens_reused: number | null;
  /**
   * Prompts parked after their slot moved on (llm_prompt_cache_tokens).
   */
  cached_prompts: number | null;
  /**
   * The cells those prompts hold.
   */
  cached_prompt_tokens: number | null;
}
/**
 * ``WS api/generate/ws``: cancel the running generation.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CancelMessage".
 */
export interface CancelMessage {
  type: "cancel";
}
/**
 * One step of the word diff from raw to corrected text.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "Change".
 */
export interface Change {
  op: "equal" | "replace" | "delete" | "insert";
  raw: string;
  corrected: string;
}
/**
 * One message of a conversation; a ``tool`` message is a call's result.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ChatMessage".
 */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /**
   * An assistant message's calls.
   */
  tool_calls?: ToolCall[] | null;
  /**
   * A tool message: the call it answers.
   */
  tool_call_id?: string | null;
}
/**
 * A call the model made (in an answer, and in the assistant messages sent back).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ToolCall".
 */
export interface ToolCall {
  id: string;
  type?: "function";
  function: FunctionCall;
}
/**
 * The function a call runs and its arguments (JSON text of an object).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "FunctionCall".
 */
export interface FunctionCall {
  name: string;
  arguments: string;
}
/**
 * The function ``tool_choice`` names.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ChosenFunction".
 */
export interface ChosenFunction {
  name: string;
}
/**
 * The body of ``POST api/complete``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CompleteRequest".
 */
export interface CompleteRequest {
  /**
   * The code before the cursor (the current cell's).
   */
  prefix: string;
  /**
   * The code after the cursor.
   */
  suffix?: string;
  /**
   * Other cells of the notebook, in order, laid out before the current one.
   *
   * @maxItems 64
   */
  context?: string[];
  /**
   * The code's language.
   */
  language?: string;
  /**
   * The notebook's or file's path (informational).
   */
  path?: string | null;
  /**
   * Tokens at most (default 64).
   */
  max_tokens?: number | null;
  /**
   * Lines at most (0: no limit).
   */
  max_lines?: number;
  /**
   * A configured model name, or auto.
   */
  model?: string;
  /**
   * Default 0 (greedy).
   */
  temperature?: number | null;
  /**
   * Stream events (NDJSON/SSE) or answer once.
   */
  stream?: boolean;
  /**
   * The editor asking: a new completion with the same key cancels your previous one that is still running.
   */
  stream_key?: string | null;
  /**
   * Chosen by the client so it can cancel; generated when unset.
   */
  request_id?: string | null;
}
/**
 * The last event of a streamed correction: the whole text's result.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CorrectDoneEvent".
 */
export interface CorrectDoneEvent {
  raw: string;
  corrected: string;
  /**
   * True when the text came back uncorrected.
   */
  degraded: boolean;
  /**
   * Why it is degraded.
   */
  reason: string | null;
  language: string;
  model: string | null;
  route: string | null;
  changes: Change[];
  timings: CorrectTimings;
  type: "done";
}
/**
 * Milliseconds.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CorrectTimings".
 */
export interface CorrectTimings {
  total_ms: number | null;
}
/**
 * Committed segments ``[first, end)`` corrected while the stream goes on.
 *
 * ``text`` is what to show for them: the accepted correction, or their raw
 * words when the guard rejected it (``degraded``, ``reason``); a rejected
 * answer is never sent. ``covered_words`` counts the stream's raw words
 * corrected so far: the first ``covered_words`` words of a partial's
 * ``confirmed`` are shown corrected by the ``corrected`` messages so far.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CorrectedMessage".
 */
export interface CorrectedMessage {
  type: "corrected";
  /**
   * The first committed segment corrected here (0-based).
   */
  first: number;
  /**
   * One past the last committed segment corrected here.
   */
  end: number;
  /**
   * The segments' words as heard.
   */
  raw: string;
  /**
   * The segments' corrected text.
   */
  text: string;
  /**
   * True when the guard kept the raw words.
   */
  degraded: boolean;
  /**
   * Why it is degraded.
   */
  reason: string | null;
  /**
   * Raw words of the stream corrected so far.
   */
  covered_words: number;
}
/**
 * An error reported in-band on a stream or socket, after the answer began.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ErrorEvent".
 */
export interface ErrorEvent {
  type: "error";
  /**
   * The HTTP status the error would have had.
   */
  status: number;
  message: string;
  /**
   * Seconds to wait, with status 429.
   */
  retry_after: number | null;
}
/**
 * The body of ``POST api/correct``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CorrectRequest".
 */
export interface CorrectRequest {
  text: string;
  language?: "auto" | "ru" | "en";
  /**
   * Correct sentence by sentence and stream each one's correction (NDJSON, or SSE with Accept: text/event-stream), then a done event.
   */
  stream?: boolean;
}
/**
 * The answer of ``POST api/correct`` (and the ``correction`` of a transcript).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "CorrectResult".
 */
export interface CorrectResult {
  raw: string;
  corrected: string;
  /**
   * True when the text came back uncorrected.
   */
  degraded: boolean;
  /**
   * Why it is degraded.
   */
  reason: string | null;
  language: string;
  model: string | null;
  route: string | null;
  changes: Change[];
  timings: CorrectTimings;
}
/**
 * The last event of a stream; ``text`` is the whole answer.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "DoneEvent".
 */
export interface DoneEvent {
  request_id: string;
  text: string;
  model: string;
  finish_reason: "stop" | "length" | "cancelled" | "tool_calls";
  usage: Usage;
  timings: GenerateTimings;
  route: "primary" | "fallback" | "remote" | "degraded";
  route_reason: string;
  /**
   * The calls the answer makes (finish_reason tool_calls).
   */
  tool_calls: ToolCall[];
  type: "done";
}
/**
 * Token counts; ``prompt_tokens_reused``: prompt tokens found in the model's cache.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "Usage".
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_reused: number;
}
/**
 * Where the time went, in milliseconds.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "GenerateTimings".
 */
export interface GenerateTimings {
  queue_ms: number;
  first_token_ms: number | null;
  total_ms: number;
  tokens_per_second: number | null;
}
/**
 * The body of every 4xx/5xx answer (jupyter_server's ``APIHandler`` shape).
 *
 * ``reason`` and ``traceback`` may be absent (jupyter_server writes them only
 * for some errors), so they are not required.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ErrorBody".
 */
export interface ErrorBody {
  /**
   * What went wrong, for the user.
   */
  message: string;
  /**
   * A short reason, e.g. the error class.
   */
  reason?: string | null;
  /**
   * Only when the server runs with debug tracebacks on.
   */
  traceback?: string | null;
}
/**
 * The result after ``stop``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "FinalMessage".
 */
export interface FinalMessage {
  type: "final";
  raw: string;
  text: string;
  language: string;
  duration: number;
  segments: Segment[];
  correction: CorrectResult | null;
  timings: FinalTimings;
}
/**
 * A stretch of speech; times in seconds from the start of the audio.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "Segment".
 */
export interface Segment {
  start: number;
  end: number;
  text: string;
}
/**
 * Milliseconds after ``stop``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "FinalTimings".
 */
export interface FinalTimings {
  finish_transcribe_ms: number | null;
  correct_ms: number | null;
  finish_ms: number | null;
}
/**
 * A function the model may call.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "FunctionDefinition".
 */
export interface FunctionDefinition {
  name: string;
  description?: string | null;
  /**
   * A JSON Schema of the arguments (an object); none: any object.
   */
  parameters?: {
    [k: string]: unknown;
  } | null;
  /**
   * Accepted: a forced call always follows the schema.
   */
  strict?: boolean | null;
}
/**
 * One offered tool (only functions).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "FunctionTool".
 */
export interface FunctionTool {
  type: "function";
  function: FunctionDefinition;
}
/**
 * ``WS api/generate/ws``: start a generation (the fields of ``GenerateRequest``).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "GenerateMessage".
 */
export interface GenerateMessage {
  /**
   * The prompt; send this or messages.
   */
  prompt?: string | null;
  /**
   * A conversation.
   */
  messages?: ChatMessage[] | null;
  /**
   * Prepended as a system message.
   */
  system?: string | null;
  /**
   * A configured model name, or auto.
   */
  model?: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?:
    | []
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string]
    | null;
  seed?: number | null;
  /**
   * The answer is JSON following this JSON Schema ({} for any JSON value).
   */
  json_schema?: {
    [k: string]: unknown;
  } | null;
  /**
   * Lowers the odds of a token once it appeared (OpenAI's meaning).
   */
  presence_penalty?: number | null;
  /**
   * Lowers the odds of a token by how often it appeared.
   */
  frequency_penalty?: number | null;
  /**
   * Token id (a decimal string) -> bias added to its logit, -100..100.
   */
  logit_bias?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^[0-9]{1,9}$".
     */
    [k: string]: number;
  } | null;
  /**
   * Functions the model may call.
   */
  tools?: FunctionTool[] | null;
  /**
   * none, auto (the default with tools), required, or a named function.
   */
  tool_choice?: ("none" | "auto" | "required") | NamedToolChoice | null;
  /**
   * Stream events (NDJSON/SSE) or answer once.
   */
  stream?: boolean;
  /**
   * Chosen by the client so it can cancel; generated when unset.
   */
  request_id?: string | null;
  type: "generate";
}
/**
 * ``tool_choice`` that names the function to call.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "NamedToolChoice".
 */
export interface NamedToolChoice {
  type: "function";
  function: ChosenFunction;
}
/**
 * The request was accepted and a backend chosen.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StartEvent".
 */
export interface StartEvent {
  type: "start";
  request_id: string;
  model: string;
  route: "primary" | "fallback" | "remote" | "degraded";
  route_reason: string;
}
/**
 * A piece of generated text.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TokenEvent".
 */
export interface TokenEvent {
  type: "token";
  text: string;
}
/**
 * The body of ``POST api/generate``; unset sampling fields take the server's defaults.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "GenerateRequest".
 */
export interface GenerateRequest {
  /**
   * The prompt; send this or messages.
   */
  prompt?: string | null;
  /**
   * A conversation.
   */
  messages?: ChatMessage[] | null;
  /**
   * Prepended as a system message.
   */
  system?: string | null;
  /**
   * A configured model name, or auto.
   */
  model?: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?:
    | []
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string]
    | null;
  seed?: number | null;
  /**
   * The answer is JSON following this JSON Schema ({} for any JSON value).
   */
  json_schema?: {
    [k: string]: unknown;
  } | null;
  /**
   * Lowers the odds of a token once it appeared (OpenAI's meaning).
   */
  presence_penalty?: number | null;
  /**
   * Lowers the odds of a token by how often it appeared.
   */
  frequency_penalty?: number | null;
  /**
   * Token id (a decimal string) -> bias added to its logit, -100..100.
   */
  logit_bias?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^[0-9]{1,9}$".
     */
    [k: string]: number;
  } | null;
  /**
   * Functions the model may call.
   */
  tools?: FunctionTool[] | null;
  /**
   * none, auto (the default with tools), required, or a named function.
   */
  tool_choice?: ("none" | "auto" | "required") | NamedToolChoice | null;
  /**
   * Stream events (NDJSON/SSE) or answer once.
   */
  stream?: boolean;
  /**
   * Chosen by the client so it can cancel; generated when unset.
   */
  request_id?: string | null;
}
/**
 * The whole answer: ``stream: false``'s body, and the ``done`` event without ``type``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "GenerateResult".
 */
export interface GenerateResult {
  request_id: string;
  text: string;
  model: string;
  finish_reason: "stop" | "length" | "cancelled" | "tool_calls";
  usage: Usage;
  timings: GenerateTimings;
  route: "primary" | "fallback" | "remote" | "degraded";
  route_reason: string;
  /**
   * The calls the answer makes (finish_reason tool_calls).
   */
  tool_calls: ToolCall1[];
}
/**
 * A call the model made (in an answer, and in the assistant messages sent back).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ToolCall-Output".
 */
export interface ToolCall1 {
  id: string;
  type: "function";
  function: FunctionCall;
}
/**
 * One worker lane of the scheduler.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "LaneInfo".
 */
export interface LaneInfo {
  queued: number;
  running: number;
}
/**
 * Live-stream decodes waiting for the speech lane, by priority.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "LiveSpeechWaiting".
 */
export interface LiveSpeechWaiting {
  /**
   * Finals of stopped streams (served first).
   */
  stop: number;
  /**
   * Segments closed at a pause while the user speaks.
   */
  segment: number;
  /**
   * Live partials (served last, coalesced to newer audio).
   */
  partial: number;
}
/**
 * Free and total memory of one device.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "MemoryReading".
 */
export interface MemoryReading {
  /**
   * host, cuda:0, ...
   */
  device: string;
  kind: "host" | "gpu";
  name: string;
  free_mib: number;
  total_mib: number;
}
/**
 * Memory pressure as the router sees it.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "MemoryStatus".
 */
export interface MemoryStatus {
  /**
   * Where readings come from: host, nvml, file:..., ...
   */
  source: string;
  /**
   * The pressure level.
   */
  level: "ok" | "high" | "critical";
  reason: string;
  /**
   * Free memory of the tightest device, MiB.
   */
  free_mib: number | null;
  readings: MemoryReading[];
  /**
   * Unix time of the last good reading.
   */
  updated: number | null;
  error: string | null;
  interval_s: number;
  thresholds: PressureThresholds;
}
/**
 * When the pressure level rises and falls (MiB, seconds).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "PressureThresholds".
 */
export interface PressureThresholds {
  low_mib: number;
  recover_mib: number;
  recover_s: number;
  critical_mib: number;
}
/**
 * One configured model.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ModelInfo".
 */
export interface ModelInfo {
  name: string;
  kind: "llm" | "speech" | "embedding";
  role: "primary" | "fallback" | "remote" | "speech" | "embedding";
  /**
   * The model file or folder name (None for remote).
   */
  file: string | null;
  state: "unloaded" | "loading" | "ready" | "failed";
  error: string | null;
  /**
   * cpu, cuda or remote.
   */
  device: string;
  /**
   * Size on disk while loaded, else 0.
   */
  memory_bytes: number | null;
  /**
   * Context size (LLMs).
   */
  n_ctx: number | null;
  /**
   * Whisper: more than English.
   */
  multilingual: boolean | null;
  /**
   * Remote: the API's base URL.
   */
  url: string | null;
  /**
   * Batched LLMs: slots, KV cache, rate.
   */
  batch: BatchInfo | null;
}
/**
 * What was heard so far: settled words, then words that may still change.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "PartialMessage".
 */
export interface PartialMessage {
  type: "partial";
  confirmed: string;
  tentative: string;
  segment: number;
  audio_s: number;
}
/**
 * The scheduler: waiting and running jobs.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "QueueStatus".
 */
export interface QueueStatus {
  /**
   * Jobs waiting.
   */
  depth: number;
  running: number;
  /**
   * Jobs that may wait; more get 429.
   */
  capacity: number;
  /**
   * Jobs (queued plus running) one user may hold; more get 429. 0: no cap.
   */
  per_user: number;
  /**
   * Request ids of the caller's own running jobs.
   */
  running_ids: string[];
  lanes: {
    [k: string]: LaneInfo;
  };
}
/**
 * Which backend serves new requests now, and why.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "RouteInfo".
 */
export interface RouteInfo {
  backend: "primary" | "fallback" | "remote" | "degraded";
  model: string | null;
  reason: string;
  /**
   * Unix time when this route began.
   */
  since: number;
  pressure: "ok" | "high" | "critical";
}
/**
 * How loaded the speech lane is with live streams (dictation, the recorder).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "SpeechLaneStatus".
 */
export interface SpeechLaneStatus {
  waiting: LiveSpeechWaiting;
  /**
   * Batches being decoded now.
   */
  decoding: number;
  /**
   * Batches that may be decoded at once (speech_workers).
   */
  workers: number;
  /**
   * Windows decoded in one Whisper call at most.
   */
  batch_size: number;
  /**
   * Fraction of the last 10 s the lane's workers spent decoding (0-1).
   */
  load: number;
  /**
   * Median wait of recent partials for the lane; grows with the load.
   */
  partial_wait_ms: number;
  /**
   * Batches decoded since start.
   */
  batches: number;
  /**
   * Windows decoded since start.
   */
  windows: number;
  /**
   * Partial windows decoded since start.
   */
  partials: number;
  /**
   * Partials dropped because their stream stopped (its final covered them).
   */
  partials_dropped: number;
  /**
   * Live windows sent to speech_remote_url since start (finals that overflowed, speech_remote_overflow_queue).
   */
  remote: number;
}
/**
 * The stream is open; send PCM frames.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StartedMessage".
 */
export interface StartedMessage {
  type: "started";
  sample_rate: number;
  max_seconds: number;
  max_frame_bytes: number;
  model: string;
}
/**
 * The answer of ``GET api/status``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StatusDocument".
 */
export interface StatusDocument {
  version: string;
  /**
   * Running on the demo models (nothing configured).
   */
  demo: boolean;
  notes: string[];
  llm_enabled: boolean;
  route: RouteInfo;
  models: ModelInfo[];
  memory: MemoryStatus;
  switches: Switch[];
  backends: {
    [k: string]: BackendInfo;
  };
  queue: QueueStatus;
  /**
   * Live speech decodes; null without a speech model.
   */
  speech_lane: SpeechLaneStatus | null;
  time: number;
}
/**
 * One change of route.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "Switch".
 */
export interface Switch {
  time: number;
  from: string;
  to: string;
  reason: string;
}
/**
 * Drop the stream without a result.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StreamCancel".
 */
export interface StreamCancel {
  type: "cancel";
}
/**
 * Open a stream.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StreamStart".
 */
export interface StreamStart {
  type: "start";
  language?: "auto" | "ru" | "en";
  correct?: boolean;
}
/**
 * End the stream and ask for the final result.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "StreamStop".
 */
export interface StreamStop {
  type: "stop";
}
/**
 * A call the model made (in an answer, and in the assistant messages sent back).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "ToolCall-Input".
 */
export interface ToolCall2 {
  id: string;
  type?: "function";
  function: FunctionCall;
}
/**
 * The last event of a streamed transcription: the whole answer.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TranscribeDoneEvent".
 */
export interface TranscribeDoneEvent {
  /**
   * The transcript as heard.
   */
  raw: string;
  language: string;
  language_probability: number;
  /**
   * Seconds of audio.
   */
  duration: number;
  segments: Segment[];
  timings: TranscribeTimings;
  cancelled: boolean;
  /**
   * The speech model that heard it.
   */
  model: string | null;
  /**
   * Who served it: local (this server's Whisper) or remote.
   */
  route: "local" | "remote";
  /**
   * The corrected text (raw when correct=false).
   */
  text: string;
  correction: CorrectResult | null;
  type: "done";
}
/**
 * Milliseconds.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TranscribeTimings".
 */
export interface TranscribeTimings {
  decode_ms: number | null;
  transcribe_ms: number | null;
  correct_ms: number | null;
  total_ms: number | null;
}
/**
 * The first event of a streamed transcription: the transcript as heard (its timings
 * without the correction's).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TranscribedEvent".
 */
export interface TranscribedEvent {
  /**
   * The transcript as heard.
   */
  raw: string;
  language: string;
  language_probability: number;
  /**
   * Seconds of audio.
   */
  duration: number;
  segments: Segment[];
  timings: TranscribeTimings;
  cancelled: boolean;
  /**
   * The speech model that heard it.
   */
  model: string | null;
  /**
   * Who served it: local (this server's Whisper) or remote.
   */
  route: "local" | "remote";
  type: "transcribed";
}
/**
 * The options of ``POST api/transcribe`` (query arguments or multipart fields).
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TranscribeOptions".
 */
export interface TranscribeOptions {
  language?: "auto" | "ru" | "en";
  /**
   * Correct the transcript with the LLM.
   */
  correct?: boolean;
  /**
   * Skip silence with the voice activity detector.
   */
  vad?: boolean;
  /**
   * pcm_s16le: the body is raw 16 kHz mono 16-bit PCM.
   */
  format?: "pcm_s16le" | null;
  /**
   * Stream events (NDJSON, or SSE with Accept: text/event-stream): the transcript as heard, each sentence's correction, then done.
   */
  stream?: boolean;
}
/**
 * The answer of ``POST api/transcribe``.
 *
 * This interface was referenced by `NeiraProtocol`'s JSON-Schema
 * via the `definition` "TranscribeResult".
 */
export interface TranscribeResult {
  /**
   * The transcript as heard.
   */
  raw: string;
  language: string;
  language_probability: number;
  /**
   * Seconds of audio.
   */
  duration: number;
  segments: Segment[];
  timings: TranscribeTimings;
  cancelled: boolean;
  /**
   * The speech model that heard it.
   */
  model: string | null;
  /**
   * Who served it: local (this server's Whisper) or remote.
   */
  route: "local" | "remote";
  /**
   * The corrected text (raw when correct=false).
   */
  text: string;
  correction: CorrectResult | null;
}
