import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

// The API's listening address (HOST). 127.0.0.2 is another address of this machine (Linux routes all of
// 127.0.0.0/8 to lo): a 127.0.0.1 listener does not answer there, a 0.0.0.0 listener does.
const OTHER_LOOPBACK = '127.0.0.2';
const interfaceAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const health = async (host: string, port: number) => {
  try {
    const response = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return response.status;
  } catch (error) {
    return `unreachable (${(error as { cause?: { code?: string } }).cause?.code ?? String(error)})`;
  }
};

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('bind address (HOST)', () => {
  it('listens on 127.0.0.1 only by default: another local address is refused', async () => {
    stack = await startStack({}, { worker: false });
    expect(stack.config.HOST).toBe('127.0.0.1');
    expect(await health('127.0.0.1', stack.api.port)).toBe(200);
    expect(await health(OTHER_LOOPBACK, stack.api.port)).toBe('unreachable (ECONNREFUSED)');
  });

  it('with HOST=0.0.0.0 answers on every address of the machine', async () => {
    stack = await startStack({ HOST: '0.0.0.0' }, { worker: false });
    expect(stack.api.url).toBe(`http://127.0.0.1:${stack.api.port}`);
    expect(await health('127.0.0.1', stack.api.port)).toBe(200);
    expect(await health(OTHER_LOOPBACK, stack.api.port)).toBe(200);
  });

  // The address other hosts and containers would use; skipped (visibly) on a machine without one.
  it.skipIf(!interfaceAddress)(`with HOST=0.0.0.0 answers on the network-facing address (${interfaceAddress ?? 'none'}), with the default does not`, async () => {
    stack = await startStack({ HOST: '0.0.0.0' }, { worker: false });
    expect(await health(interfaceAddress!, stack.api.port)).toBe(200);
    await stack.close();
    stack = await startStack({}, { worker: false });
    expect(await health(interfaceAddress!, stack.api.port)).toBe('unreachable (ECONNREFUSED)');
  });
});
