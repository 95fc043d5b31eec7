import type { TokenizeItem, TokenizeOutcome, TokenService } from '../../../domain/tokenPorts';
import { CoalescingTokenService } from '../../../tokenService/coalescingTokenService';

/** An inner service whose tokenize calls stay pending until released, recording each batch. */
function gatedService() {
  const calls: Array<{ keyring: string; items: TokenizeItem[]; release: (fail?: Error) => void }> = [];
  const inner: TokenService = {
    tokenize: (keyring, items) =>
      new Promise<TokenizeOutcome[]>((resolve, reject) => {
        calls.push({ keyring, items, release: (fail) => (fail ? reject(fail) : resolve(items.map((i) => ({ reference: i.reference, token: `tk_${keyring}_${i.value}` })))) });
      }),
    setMode: async (keyring, mode) => ({ keyring, mode }),
    detokenize: async () => [],
    verify: async () => ({ valid: false, keyring: null, version: null, state: 'unknown' }),
    erase: async () => false,
  };
  return { inner, calls };
}

const item = (value: string): TokenizeItem => ({ reference: 'r', field: 'documento_id', value });
const tick = () => new Promise((r) => setImmediate(r));

describe('coalescing tokenize (group commit)', () => {
  it('starts an idle keyring’s request at once, alone', async () => {
    const { inner, calls } = gatedService();
    const svc = new CoalescingTokenService(inner, { maxItemsPerRequest: 10, maxBatchItems: 100, maxConcurrentBatches: 1 });
    const p = svc.tokenize('k', [item('1')]);
    await tick();
    expect(calls).toHaveLength(1);
    calls[0]!.release();
    expect(await p).toEqual([{ reference: 'r', token: 'tk_k_1' }]);
  });

  it('sends the requests that queued behind a running batch as one batch, and gives each caller its own outcomes', async () => {
    const { inner, calls } = gatedService();
    const svc = new CoalescingTokenService(inner, { maxItemsPerRequest: 10, maxBatchItems: 100, maxConcurrentBatches: 1 });
    const first = svc.tokenize('k', [item('1')]);
    const second = svc.tokenize('k', [item('2'), item('3')]);
    const third = svc.tokenize('k', [item('4')]);
    await tick();
    expect(calls).toHaveLength(1);
    calls[0]!.release();
    await first;
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.items.map((i) => i.value)).toEqual(['2', '3', '4']);
    calls[1]!.release();
    expect((await second).map((o) => ('token' in o ? o.token : o.error.code))).toEqual(['tk_k_2', 'tk_k_3']);
    expect((await third).map((o) => ('token' in o ? o.token : o.error.code))).toEqual(['tk_k_4']);
  });

  it('never mixes keyrings in one batch', async () => {
    const { inner, calls } = gatedService();
    const svc = new CoalescingTokenService(inner, { maxItemsPerRequest: 10, maxBatchItems: 100, maxConcurrentBatches: 1 });
    const a = svc.tokenize('a', [item('1')]);
    const b = svc.tokenize('b', [item('1')]);
    await tick();
    expect(calls.map((c) => c.keyring)).toEqual(['a', 'b']);
    calls.forEach((c) => c.release());
    expect(await a).toEqual([{ reference: 'r', token: 'tk_a_1' }]);
    expect(await b).toEqual([{ reference: 'r', token: 'tk_b_1' }]);
  });

  it('fails every request of a batch whose tokenize fails, and keeps serving afterwards', async () => {
    const { inner, calls } = gatedService();
    const svc = new CoalescingTokenService(inner, { maxItemsPerRequest: 10, maxBatchItems: 100, maxConcurrentBatches: 1 });
    const first = svc.tokenize('k', [item('1')]);
    const second = svc.tokenize('k', [item('2')]);
    const third = svc.tokenize('k', [item('3')]);
    await tick();
    calls[0]!.release();
    await first;
    await tick();
    calls[1]!.release(new Error('no active seed'));
    await expect(second).rejects.toThrow('no active seed');
    await expect(third).rejects.toThrow('no active seed');
    const later = svc.tokenize('k', [item('5')]);
    await tick();
    calls[2]!.release();
    expect(await later).toEqual([{ reference: 'r', token: 'tk_k_5' }]);
  });

  it('passes large requests straight through and caps the combined batch size', async () => {
    const { inner, calls } = gatedService();
    const svc = new CoalescingTokenService(inner, { maxItemsPerRequest: 2, maxBatchItems: 3, maxConcurrentBatches: 1 });
    const big = svc.tokenize('k', [item('1'), item('2'), item('3')]);
    await tick();
    expect(calls).toHaveLength(1); // not queued behind anything
    const blocker = svc.tokenize('k', [item('4')]);
    const q1 = svc.tokenize('k', [item('5'), item('6')]);
    const q2 = svc.tokenize('k', [item('7'), item('8')]);
    await tick();
    calls[1]!.release();
    await blocker;
    await tick();
    expect(calls[2]!.items.map((i) => i.value)).toEqual(['5', '6']); // 2 + 2 would exceed 3
    calls.slice(0, 1).concat(calls.slice(2)).forEach((c) => c.release());
    await Promise.all([big, q1]);
    await tick();
    calls[3]!.release();
    expect(await q2).toHaveLength(2);
  });
});
