/**
 * Talking to `neira/api/*` on the Jupyter server, and small formatters for
 * what it answers.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { ErrorBody, MemoryStatus } from './protocol';

/** An error answer of the neira API, with the server's message. */
export class NeiraRequestError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/**
 * Call `neira/api/{endpoint}` on the Jupyter server with the page's
 * credentials; failures become `NeiraRequestError`s carrying the server's message.
 */
export async function requestAPI<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'neira', 'api', endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new NeiraRequestError(0, `cannot reach the server: ${String(error)}`);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const message =
      body !== null && typeof body === 'object' && 'message' in body
        ? String((body as ErrorBody).message)
        : response.statusText;
    throw new NeiraRequestError(response.status, message);
  }
  return body as T;
}

/** Memory in MiB as a short figure: "20.0 GiB", "900 MiB", or "?" before a reading. */
export function formatMiB(mib: number | null | undefined): string {
  if (mib === null || mib === undefined) return '?';
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(0)} MiB`;
}

/** The memory part of the status item: free memory and the pressure level. */
export function memoryLabel(memory: MemoryStatus): string {
  return `${formatMiB(memory.free_mib)} free (${memory.level})`;
}

/** A Unix time as the local clock time, e.g. "14:03:07". */
export function formatClock(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleTimeString();
}
