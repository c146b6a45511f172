/**
 * Where the speech socket goes: the Jupyter server that serves this page,
 * read from the page's `jupyter-config-data` (JupyterLab 4, Notebook 7).
 */

/** The WebSocket base URL (ending in `/`) and the token of the page's Jupyter server. */
export interface PageConnection {
  wsUrl: string;
  token: string;
}

/** The part of the page config this module reads. */
interface PageConfig {
  baseUrl?: string;
  wsUrl?: string;
  token?: string;
}

/**
 * The server that the page config's JSON text names, for a page at `pageUrl`;
 * null when the text is not JSON.
 */
export function connectionFromConfig(text: string, pageUrl: string): PageConnection | null {
  let config: PageConfig;
  try {
    config = JSON.parse(text || '{}') as PageConfig;
  } catch {
    return null;
  }
  const baseUrl = new URL(config.baseUrl || '/', pageUrl);
  let wsUrl = config.wsUrl || baseUrl.href.replace(/^http/, 'ws');
  if (!wsUrl.endsWith('/')) wsUrl += '/';
  return { wsUrl, token: config.token || '' };
}

/** The page's Jupyter server, or null on a page that no Jupyter server serves. */
export function pageConnection(): PageConnection | null {
  const element = document.getElementById('jupyter-config-data');
  if (!element) return null;
  return connectionFromConfig(element.textContent || '', window.location.href);
}
