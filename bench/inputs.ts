// Seeded place_order arguments shared by the benchmark and the parity check.

export const REFERENCE_PRICES = { 'BTC-USDT': 50_000, 'ETH-USDT': 3_000 } as const;
export const ALLOWED_SYMBOLS = ['BTC-USDT', 'ETH-USDT'];
export const MAX_ORDER_NOTIONAL = 100_000;

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface InputMix {
  inputs: string[];
  valid: number;
  rejectNotional: number;
  rejectSymbol: number;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/**
 * ~90% valid marketable orders (Limit priced through the reference, or Market) over the two allowed
 * symbols, ~6% over the notional limit, ~4% on symbols outside the allowed list. Marketable so that
 * the mock venue fills them at once and its book never grows.
 */
export function generateInputs(count: number, seed = 42): InputMix {
  const next = rng(seed);
  const inputs: string[] = [];
  let valid = 0;
  let rejectNotional = 0;
  let rejectSymbol = 0;
  for (let i = 0; i < count; i++) {
    const btc = next() < 0.5;
    const symbol = btc ? 'BTC-USDT' : 'ETH-USDT';
    const reference = REFERENCE_PRICES[symbol];
    const side = next() < 0.5 ? 'Buy' : 'Sell';
    const roll = next();
    const market = next() < 0.3;
    const args: Record<string, unknown> = { symbol, side };
    if (roll < 0.06) {
      args.quantity = btc ? round(2.5 + next() * 7.5, 3) : round(40 + next() * 100, 2); // notional > 100k
      rejectNotional++;
    } else if (roll < 0.1) {
      args.symbol = next() < 0.5 ? 'DOGE-USDT' : 'SOL-USDT';
      args.quantity = round(1 + next() * 10, 2);
      rejectSymbol++;
    } else {
      args.quantity = btc ? round(0.001 + next() * 1.4, 3) : round(0.01 + next() * 20, 2); // notional < 75k
      valid++;
    }
    if (market) {
      args.order_type = 'Market';
    } else {
      const slip = 1 + next() * 0.005;
      const price = round(side === 'Buy' ? reference * slip : reference / slip, 2);
      args.order_type = 'Limit';
      args.price = side === 'Buy' ? Math.max(price, reference) : Math.min(price, reference);
      const bracket = next();
      if (bracket < 0.2) {
        args.stop_loss = round(side === 'Buy' ? reference * 0.95 : reference * 1.05, 2);
        args.take_profit = round(side === 'Buy' ? reference * 1.1 : reference * 0.9, 2);
      }
      if (bracket > 0.8) args.time_in_force = next() < 0.5 ? 'IOC' : 'GTC';
    }
    inputs.push(JSON.stringify(args));
  }
  return { inputs, valid, rejectNotional, rejectSymbol };
}
