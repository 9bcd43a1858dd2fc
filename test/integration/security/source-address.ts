import { request } from 'node:http';

/**
 * One HTTP request to the API from a chosen loopback source address (127.0.0.1, 127.0.0.2…): how
 * tests play several clients on one machine. `stream` requests are closed once their head arrives.
 */
export function requestFrom(
  localAddress: string,
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; stream?: boolean } = {},
): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const url = new URL(path, baseUrl);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      localAddress,
      agent: false,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
      },
    }, (res) => {
      const answer = { status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined };
      if (options.stream && res.statusCode === 200) {
        res.destroy();
        resolve({ ...answer, body: '' });
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ ...answer, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} from ${localAddress}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}
