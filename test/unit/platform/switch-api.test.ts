import { describe, expect, it } from 'vitest';
import { defineApi, switchApi } from '../../../platform/src/index.js';

interface CounterApi {
  add(n: number): Promise<string>;
}

const spec = defineApi<CounterApi>('counter', { add: { writes: true } });

/** Two in-memory implementations that say which one ran, and with which key. */
function implementations() {
  const calls: string[] = [];
  const local: CounterApi = {
    add: async (n) => {
      calls.push(`local ${n}`);
      return 'local';
    },
  };
  const remoteWith = (key: string | undefined): CounterApi => ({
    add: async (n) => {
      calls.push(`remote ${n} ${key ?? 'new key'}`);
      return 'remote';
    },
  });
  const remote = Object.assign(remoteWith(undefined), { withIdempotencyKey: (key: string) => remoteWith(key) });
  return { calls, local, remote };
}

describe('switchApi', () => {
  it('asks mode() on every call', async () => {
    const { calls, local, remote } = implementations();
    let mode: 'local' | 'remote' = 'local';
    const api = switchApi(spec, { local, remote }, () => mode);
    await api.add(1);
    mode = 'remote';
    await api.add(2);
    expect(calls).toEqual(['local 1', 'remote 2 new key']);
  });

  it('passes a chosen key to the remote implementation; the local one runs without', async () => {
    const { calls, local, remote } = implementations();
    await switchApi(spec, { local, remote }, () => 'remote')
      .withIdempotencyKey('k1')
      .add(1);
    await switchApi(spec, { local, remote }, () => 'local')
      .withIdempotencyKey('k2')
      .add(2);
    expect(calls).toEqual(['remote 1 k1', 'local 2']);
  });

  it('keeps a keyed view on the implementation of its first call, so a repeat goes where the key went', async () => {
    const { calls, local, remote } = implementations();
    let mode: 'local' | 'remote' = 'remote';
    const keyed = switchApi(spec, { local, remote }, () => mode).withIdempotencyKey('k');
    await keyed.add(1);
    mode = 'local';
    await keyed.add(1);
    expect(calls).toEqual(['remote 1 k', 'remote 1 k']);
  });

  it('rejects a call set to remote when there is no remote implementation', async () => {
    const { local } = implementations();
    await expect(switchApi(spec, { local }, () => 'remote').add(1)).rejects.toMatchObject({
      code: 'FICUS_ERR_CONFIG',
      message: expect.stringContaining('no remote implementation'),
    });
  });
});
