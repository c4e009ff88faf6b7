// The book as the venue's matching engine holds it, read for the agent (`get_book_snapshot`):
// seeded ladder and the agent's own resting orders, aggregated by price, best first.
// Invariants: prices and quantities are the grids' canonical floats, as the engine reports them
// (never snapped again here); reading never changes the book (the caller seeds the ladder first,
// as a marketable order would).
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
  // The engine registered the symbol on these grids and writes their canonical floats: taken as is.
  const { bids, asks } = engine.depth(symbolId, levels);
  return { symbol: terms.symbol, timestampMs, bids, asks };
}
