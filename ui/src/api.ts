/** A field problem from the API: `path` such as `body.rules.0.conditions.1.value`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** An error answer of the API (`{error: {code, message, details}}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }

  /** Field issues with `body.` dropped, so they match form paths like `rules.0.value`. */
  get issues(): FieldIssue[] {
    if (!Array.isArray(this.details)) return [];
    return this.details
      .filter((d): d is FieldIssue => typeof d === 'object' && d !== null && typeof (d as FieldIssue).path === 'string')
      .map((d) => ({ path: d.path.replace(/^body\./, ''), message: d.message }));
  }
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Answers are typed by the caller from src/protocol/admin-api.ts, the zod schemas the routes document
 * themselves with (and check their answers against): `api.get<TokenPage>(…)`. Without a type an answer
 * is `unknown`, so a page can't read a field the protocol does not declare.
 */
export interface Api {
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  get<T = unknown>(path: string, signal?: AbortSignal): Promise<T>;
}

/** The error body of the API: `{error: {code, message, details}}`. */
interface ErrorBody { error?: { code?: string; message?: string; details?: unknown } }

/** How the UI is signed in: a pasted token, or a single sign-on session (its cookie goes along by itself; writes add its CSRF token). */
export type Credential = { token: string } | { csrfToken: string };

/** A client for the management API that sends the signed-in credential. */
export function createApi(credential: Credential, onUnauthorized?: () => void): Api {
  async function request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth: Record<string, string> = 'token' in credential
      ? { authorization: `Bearer ${credential.token}` }
      : method === 'GET' ? {} : { 'x-csrf-token': credential.csrfToken };
    const headers: Record<string, string> = { ...auth, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, {
        // no-store: a 304 revalidation of a flag's ETag (its identity version) would hide config changes.
        method, headers, signal: options.signal, cache: 'no-store',
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ApiError(0, 'NETWORK', 'The API did not answer; check your connection and that Ripcord is running.', undefined);
    }
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) {
      const error = (typeof body === 'object' && body !== null ? (body as ErrorBody).error : undefined) ?? {};
      if (response.status === 401) onUnauthorized?.();
      throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? response.statusText, error.details);
    }
    return body as T;
  }
  return { request, get: <T = unknown>(path: string, signal?: AbortSignal) => request<T>('GET', path, { signal }) };
}

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
