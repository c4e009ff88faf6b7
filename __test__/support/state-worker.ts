// A child process holding one risk-state store, driven over IPC by the multi-process specs (each
// child is a replica). The store is chosen by the STATE_WORKER env (JSON); its clock is Date.now()
// plus an offset the parent moves ('advance'), so cooldowns pass in every replica at once without
// waiting. Each grant is reported to the parent the moment it is known (and each release BEFORE
// it is asked), so after a kill -9 the parent holds a lower bound of what this replica sent.
import { FileStateStore } from '../../ts/state/file-store';
import { RedisStateStore } from '../../ts/state/redis-store';
import type { BreakerConfig, PlaceRequest, PlaceVerdict, RiskStateStore } from '../../ts/state/store';

export type WorkerStore = { type: 'redis'; url: string; account: string; timeoutMs: number } | { type: 'file'; path: string };

export type WorkerCommand =
  | { op: 'burst'; id: number; count: number; request: PlaceRequest; settle: 'accepted' | 'mixed' | 'none' }
  | { op: 'loop'; id: number; request: PlaceRequest; settle: 'accepted' | 'mixed' | 'none' }
  | { op: 'propose'; id: number; fieldsHash: string }
  | { op: 'place'; id: number; request: PlaceRequest }
  | { op: 'reject'; id: number; breaker: BreakerConfig }
  | { op: 'advance'; id: number; ms: number };

export type WorkerEvent =
  | { type: 'ready'; pid: number }
  | { type: 'open-failed'; message: string }
  | { type: 'granted'; reservationId: string }
  | { type: 'releasing'; reservationId: string }
  | { type: 'result'; id: number; verdicts: (PlaceVerdict | { ok: false; reason: 'STATE_UNAVAILABLE' })[]; token?: string };

let offsetMs = 0;
const nowMs = (): number => Date.now() + offsetMs;

function send(event: WorkerEvent): void {
  process.send?.(event);
}

async function openStore(): Promise<RiskStateStore | FileStateStore> {
  const config = JSON.parse(process.env.STATE_WORKER ?? '{}') as WorkerStore;
  if (config.type === 'file') return FileStateStore.open({ path: config.path, nowMs });
  return RedisStateStore.open({ url: config.url, account: config.account, timeoutMs: config.timeoutMs, nowMs });
}

/** The file store holds day counts only: count orders up and save each one before it would be sent (until killed). */
async function saveForever(store: FileStateStore): Promise<never> {
  const day = Math.floor(nowMs() / 86_400_000);
  for (let orders = (store.load()?.orders ?? 0) + 1; ; orders++) {
    store.save({ day, orders, cancels: 0 });
    send({ type: 'granted', reservationId: String(orders) });
    await new Promise(setImmediate); // lets the report reach the parent
  }
}

async function placeOne(store: RiskStateStore, request: PlaceRequest, settle: 'accepted' | 'mixed' | 'none', index: number): Promise<PlaceVerdict | { ok: false; reason: 'STATE_UNAVAILABLE' }> {
  let verdict: PlaceVerdict;
  try {
    verdict = await store.reservePlace(request);
  } catch {
    return { ok: false, reason: 'STATE_UNAVAILABLE' };
  }
  if (!verdict.ok) return verdict;
  send({ type: 'granted', reservationId: verdict.reservation.id });
  try {
    // 'mixed': every third order is a definite venue rejection, every third is left unsettled
    // (outcome unknown: its lease ends it), the rest fill.
    const kind = settle === 'mixed' ? (['rejected', 'none', 'accepted'] as const)[index % 3] : settle;
    if (kind === 'rejected') {
      send({ type: 'releasing', reservationId: verdict.reservation.id });
      await store.settle(verdict.reservation, { kind: 'rejected' });
    } else if (kind === 'accepted') {
      await store.settle(verdict.reservation, { kind: 'accepted', orderId: `o-${verdict.reservation.id}`, filledQuantity: request.quantity, restingQuantity: 0 });
    }
  } catch {
    // settle failed: the reservation stays until its lease (fail closed)
  }
  return verdict;
}

async function main(): Promise<void> {
  let opened: RiskStateStore | FileStateStore;
  try {
    opened = await openStore();
  } catch (error) {
    send({ type: 'open-failed', message: (error as Error).message });
    process.exit(3);
  }
  if (opened instanceof FileStateStore) {
    const file = opened;
    process.on('message', () => void saveForever(file));
    process.on('disconnect', () => {
      void file.close().then(() => process.exit(0));
    });
    send({ type: 'ready', pid: process.pid });
    return;
  }
  const store = opened;
  process.on('message', (message: WorkerCommand) => {
    void (async () => {
      switch (message.op) {
        case 'burst': {
          const verdicts = await Promise.all(Array.from({ length: message.count }, (_, i) => placeOne(store, message.request, message.settle, i)));
          send({ type: 'result', id: message.id, verdicts });
          break;
        }
        case 'loop': {
          // Until killed: batches of 20 concurrent orders.
          for (let batch = 0; ; batch++) await Promise.all(Array.from({ length: 20 }, (_, i) => placeOne(store, message.request, message.settle, batch * 20 + i)));
        }
        case 'propose': {
          const verdict = await store.proposePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {}, fieldsHash: message.fieldsHash });
          send({ type: 'result', id: message.id, verdicts: [], ...(verdict.ok ? { token: verdict.token } : {}) });
          break;
        }
        case 'place':
          send({ type: 'result', id: message.id, verdicts: [await placeOne(store, message.request, 'none', 0)] });
          break;
        case 'reject':
          await store.recordRiskRejection(message.breaker);
          send({ type: 'result', id: message.id, verdicts: [] });
          break;
        case 'advance':
          offsetMs += message.ms;
          send({ type: 'result', id: message.id, verdicts: [] });
          break;
      }
    })();
  });
  process.on('disconnect', () => {
    void store.close().then(() => process.exit(0));
  });
  send({ type: 'ready', pid: process.pid });
}

void main();
