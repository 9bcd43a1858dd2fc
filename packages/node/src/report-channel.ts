/**
 * Carries instance reports to the API. Instances of one process that report in the same turn of the
 * event loop (a kill reaches all their streams at once) share one request: a batch of their own
 * reports, each made when its instance applied the version it names and counted by the API as if it
 * came alone. A lone report goes as before; an API that does not take batches (it answers 400 or 413)
 * gets them one by one from then on. No Node built-ins: the browser client uses it too.
 */

/** One instance's report, as POST /api/v1/instances/report takes it. */
export interface ReportBody {
  id: string;
  [field: string]: unknown;
}

/** What the API answered for one instance's report. */
export interface ReportOutcome {
  status: number;
  replica?: string;
  heartbeatSeconds?: number;
  /** The refusal's message when the status is not 2xx. */
  message?: string;
}

export interface ReportChannelOptions {
  url: string;
  token: string;
  fetch: typeof fetch;
  requestTimeoutMs: number;
}

/** The API's cap on reports per request (MAX_REPORTS_PER_REQUEST); bodies also stay under its 64 KiB. */
const MAX_BATCH = 100;
const MAX_BATCH_BYTES = 48 * 1024;

interface Pending {
  body: ReportBody;
  json: string;
  resolve: (outcome: ReportOutcome) => void;
  reject: (error: unknown) => void;
}

// setImmediate runs after every socket that was readable this turn has been handled: the reports
// those events caused go together. Browsers have no setImmediate (and one instance per page).
const soon: (run: () => void) => void = (globalThis as { setImmediate?: (run: () => void) => unknown }).setImmediate
  ?? ((run) => void setTimeout(run, 0));

export class ReportChannel {
  private queue: Pending[] = [];
  private scheduled = false;
  /** False once the API refused a batch as such: reports then go one per request. */
  private batches = true;

  constructor(private readonly options: ReportChannelOptions) {}

  /** Sends one instance's report (with those of other instances sent in the same turn); resolves with its answer. */
  send(body: ReportBody): Promise<ReportOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ body, json: JSON.stringify(body), resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      soon(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.queue;
    this.queue = [];
    if (!this.batches) {
      for (const one of pending) void this.single(one);
      return;
    }
    let batch: Pending[] = [];
    let bytes = 0;
    for (const one of pending) {
      if (batch.length > 0 && (batch.length >= MAX_BATCH || bytes + one.json.length > MAX_BATCH_BYTES)) {
        void this.dispatch(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(one);
      bytes += one.json.length + 1;
    }
    if (batch.length > 0) void this.dispatch(batch);
  }

  private dispatch(batch: Pending[]): Promise<void> {
    return batch.length === 1 ? this.single(batch[0]!) : this.batch(batch);
  }

  private async single(one: Pending): Promise<void> {
    try {
      const response = await this.post(one.json);
      one.resolve(await outcomeOf(response));
    } catch (error) {
      one.reject(error);
    }
  }

  private async batch(batch: Pending[]): Promise<void> {
    let response: Response;
    try {
      response = await this.post(`{"reports":[${batch.map((one) => one.json).join(',')}]}`);
    } catch (error) {
      for (const one of batch) one.reject(error);
      return;
    }
    if (response.status === 400 || response.status === 413) {
      // An API from before batches: it reads one report per request.
      await response.body?.cancel().catch(() => undefined);
      this.batches = false;
      for (const one of batch) void this.single(one);
      return;
    }
    const shared = await outcomeOf(response);
    const refused = new Map<string, { status: number; message: string }>();
    if (shared.status === 200) {
      for (const item of shared.refused ?? []) refused.set(item.id, item);
    }
    for (const one of batch) {
      const own = refused.get(one.body.id);
      one.resolve(own ? { status: own.status, message: own.message } : { status: shared.status, replica: shared.replica, heartbeatSeconds: shared.heartbeatSeconds, message: shared.message });
    }
  }

  private post(body: string): Promise<Response> {
    const { url, token, requestTimeoutMs } = this.options;
    return this.options.fetch(`${url}/api/v1/instances/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  }
}

/** Reads an answer: the replica and heartbeat when counted, the message when refused; never throws on a body it can't read. */
async function outcomeOf(response: Response): Promise<ReportOutcome & { refused?: Array<{ id: string; status: number; message: string }> }> {
  const answer = (await response.json().catch(() => ({}))) as {
    replica?: unknown; heartbeat_seconds?: unknown; error?: { message?: unknown }; refused?: unknown;
  };
  const refused = Array.isArray(answer.refused)
    ? answer.refused.flatMap((item: { id?: unknown; status?: unknown; error?: { message?: unknown } }) =>
      typeof item?.id === 'string' && typeof item.status === 'number' ? [{ id: item.id, status: item.status, message: String(item.error?.message ?? '') }] : [])
    : undefined;
  return {
    status: response.status,
    ...(typeof answer.replica === 'string' ? { replica: answer.replica } : {}),
    ...(typeof answer.heartbeat_seconds === 'number' ? { heartbeatSeconds: answer.heartbeat_seconds } : {}),
    ...(typeof answer.error?.message === 'string' ? { message: answer.error.message } : {}),
    ...(refused ? { refused } : {}),
  };
}

const channels = new WeakMap<typeof fetch, Map<string, ReportChannel>>();

/** The channel of every reporter in this process with the same API, token, fetch and timeout. */
export function reportChannel(options: ReportChannelOptions): ReportChannel {
  let byTarget = channels.get(options.fetch);
  if (!byTarget) channels.set(options.fetch, (byTarget = new Map()));
  const key = `${options.url}\n${options.token}\n${options.requestTimeoutMs}`;
  let channel = byTarget.get(key);
  if (!channel) byTarget.set(key, (channel = new ReportChannel(options)));
  return channel;
}
