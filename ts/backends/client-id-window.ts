// The most recent client order ids a venue remembers, each with a slot number for the caller's
// own columns (the mock keeps its acks there). Invariants:
// - At most `capacity` ids are remembered; adding one more forgets the oldest (arrival order).
// - An id maps to exactly one slot while remembered; a slot is reused only after its id is forgotten.
// - Lookups compare whole strings: a hash collision never makes two ids the same.
//
// Why not a `Map<string, …>`: at 10,000 live ids, a Map's lookups and deletes missed cache on
// every order and kept each id's entry object alive into the old generation. Here the ids sit in
// one ring, and an open-addressing table of slot numbers (linear probing, deletion by backward
// shift, so no tombstones) stays in two typed arrays at most half full.

const FIRST_TABLE_SIZE = 1024;

/** 32-bit FNV-1a over the UTF-16 code units. */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h | 0;
}

export class ClientIdWindow {
  /** Ids by slot, in arrival order around the ring. */
  private readonly ids: Array<string | undefined> = [];
  /** Each slot's id hash (kept so a delete or rehash never hashes a string again). */
  private hashes = new Int32Array(FIRST_TABLE_SIZE / 2);
  /** Slot + 1 per table cell; 0 is empty. */
  private table = new Int32Array(FIRST_TABLE_SIZE);
  private mask = FIRST_TABLE_SIZE - 1;
  private added = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** Ids remembered now. */
  get size(): number {
    return Math.min(this.added, this.capacity);
  }

  /** The slot of `id`, or -1 if it is not remembered. */
  find(id: string): number {
    const hash = hashId(id);
    const table = this.table;
    const mask = this.mask;
    for (let cell = hash & mask; ; cell = (cell + 1) & mask) {
      const entry = table[cell] as number;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (this.hashes[slot] === hash && this.ids[slot] === id) return slot;
    }
  }

  /**
   * Remember `id` (not remembered now: call `find` first) and return its slot. When full, the
   * oldest id is forgotten and its slot is the one returned.
   */
  add(id: string): number {
    const slot = this.added % this.capacity;
    if (this.added >= this.capacity) this.remove(slot);
    else if ((slot + 1) * 2 > this.table.length) this.growTable();
    const hash = hashId(id);
    this.ids[slot] = id;
    this.hashes[slot] = hash;
    this.insert(slot, hash);
    this.added += 1;
    return slot;
  }

  private insert(slot: number, hash: number): void {
    const table = this.table;
    const mask = this.mask;
    let cell = hash & mask;
    while (table[cell] !== 0) cell = (cell + 1) & mask;
    table[cell] = slot + 1;
  }

  /** Take `slot` out of the table, shifting later entries of its probe run back into the gap. */
  private remove(slot: number): void {
    const table = this.table;
    const mask = this.mask;
    let gap = (this.hashes[slot] as number) & mask;
    while (table[gap] !== slot + 1) gap = (gap + 1) & mask;
    let cell = gap;
    for (;;) {
      cell = (cell + 1) & mask;
      const entry = table[cell] as number;
      if (entry === 0) break;
      const home = (this.hashes[entry - 1] as number) & mask;
      // The entry may move into the gap only if its home is not cyclically inside (gap, cell].
      const staysPut = gap <= cell ? gap < home && home <= cell : gap < home || home <= cell;
      if (staysPut) continue;
      table[gap] = entry;
      gap = cell;
    }
    table[gap] = 0;
  }

  /** Double the table (and the hash column) and re-insert every remembered slot. */
  private growTable(): void {
    const size = this.table.length * 2;
    const hashes = new Int32Array(size / 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let slot = 0; slot < this.added; slot++) this.insert(slot, hashes[slot] as number);
  }
}
