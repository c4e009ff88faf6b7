// The book as the venue's matching engine holds it, read for the agent (`get_book_snapshot`):
// seeded ladder and the agent's own resting orders, aggregated by price, best first.
// Invariants: prices and quantities are the grids' canonical floats; reading never changes the
// book (the caller seeds the ladder first, as a marketable order would).
import type { MatchingEngine } from '../matching';
import type { VenueTerms } from './venue';

export interface BookSnapshotLevel {
  price: number;
  quantity: number;
  orders: number;
}

export interface BookSnapshot {
  symbol: string;
  timestampMs: number;
  bids: BookSnapshotLevel[];
  asks: BookSnapshotLevel[];
}

/** The best `levels` of each side of `symbolId`'s book, stamped `timestampMs`. */
export function readBookSnapshot(engine: MatchingEngine, symbolId: number, terms: VenueTerms, levels: number, timestampMs: number): BookSnapshot {
  const depth = engine.depth(symbolId, levels);
  const level = (l: { price: number; quantity: number; orders: number }): BookSnapshotLevel => ({
    price: terms.priceGrid.canonical(l.price),
    quantity: terms.lotGrid.canonical(l.quantity),
    orders: l.orders,
  });
  return { symbol: terms.symbol, timestampMs, bids: depth.bids.map(level), asks: depth.asks.map(level) };
}
