/** The management API as the flags commands use it: JSON over fetch, one bounded request at a time. */

export interface ApiAnswer {
  status: number;
  // The API's answers are read field by field by the callers, which check what they use.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export class ApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  ifMatch?: number;
  reason?: string;
}

export interface ApiClient {
  readonly url: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiAnswer>;
  /** A GET that must answer 200; anything else throws an ApiError naming the path and status. */
  get(path: string): Promise<ApiAnswer['body']>;
}

/** The error message of an answer: the API's `error.message` and, for validation, the fields it names. */
export function errorText(answer: ApiAnswer): string {
  const error = answer.body?.error;
  if (!error) return typeof answer.body === 'string' ? answer.body.slice(0, 300) : `HTTP ${answer.status}`;
  const details = Array.isArray(error.details) ? error.details.slice(0, 5).map((d: { path?: string; message?: string }) => `${d.path}: ${d.message}`).join('; ') : '';
  return details ? `${error.message} (${details})` : String(error.message);
}

export function createApiClient(fetchImpl: typeof fetch, url: string, token: string): ApiClient {
  const client: ApiClient = {
    url,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
      if (options.reason !== undefined) headers['x-audit-reason'] = options.reason;
      let response: Response;
      try {
        response = await fetchImpl(`${url}${path}`, {
          method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        throw new ApiError(`could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body };
    },
    async get(path) {
      const answer = await client.request('GET', path);
      if (answer.status !== 200) throw new ApiError(`GET ${path} answered ${answer.status}: ${errorText(answer)}`, answer.status);
      return answer.body;
    },
  };
  return client;
}
