/**
 * Talking to `neira/api/*` on the Jupyter server (`./statusText` formats
 * what the status endpoint answers).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { ErrorBody } from './protocol';

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
