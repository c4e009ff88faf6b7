// The backtest venue's fixed terms, resolved once from BacktestBackendOptions: the symbol and its
// assets, the price and lot grids, the fees, the fill rule and the short-selling rule; and the
// refusal of agent input that breaks them (another symbol, a price or quantity off the grid).
// Invariants: nothing here changes after construction; bad options throw at construction naming
// the option; an off-grid agent value is refused (BackendError 'rejected' naming the value and the
// grid), never rounded.
import { BackendError } from '../errors';
import { Grid } from './grid';
import { baseOf, nonNegative, quoteOf, type BacktestBackendOptions, type FillRule } from './options';
import { show } from './show-number';

export class VenueTerms {
  readonly symbol: string;
  readonly quoteAsset: string;
  readonly baseAsset: string;
  readonly priceGrid: Grid;
  readonly lotGrid: Grid;
  readonly makerBps: number;
  readonly takerBps: number;
  readonly fillRule: FillRule;
  readonly allowShort: boolean;

  constructor(options: BacktestBackendOptions) {
    if (typeof options.symbol !== 'string' || options.symbol === '') throw new TypeError('symbol must be a non-empty string');
    const data = options.data;
    if (data.length === 0) throw new RangeError(`${data.source}: no data rows`);
    this.symbol = options.symbol;
    this.quoteAsset = options.quoteAsset ?? quoteOf(options.symbol);
    this.baseAsset = baseOf(options.symbol);
    this.priceGrid = options.tickSize !== undefined ? new Grid(options.tickSize, 'price') : Grid.decimal(data.priceDecimals, 'price');
    this.lotGrid = options.lotSize !== undefined ? new Grid(options.lotSize, 'quantity') : Grid.decimal(data.quantityDecimals, 'quantity');
    this.makerBps = nonNegative(options.fees?.makerBps ?? 2, 'fees.makerBps');
    this.takerBps = nonNegative(options.fees?.takerBps ?? 5, 'fees.takerBps');
    // Checked at run time too: JavaScript callers are not held to the type.
    const fillRule: string = options.fillRule ?? 'touch';
    if (fillRule !== 'touch' && fillRule !== 'through') throw new RangeError(`fillRule must be 'touch' or 'through', got ${fillRule}`);
    this.fillRule = fillRule;
    this.allowShort = options.allowShort ?? true;
  }

  checkSymbol(symbol: string): void {
    if (symbol !== this.symbol) throw new BackendError('symbol_not_found', `backtest: unknown symbol ${symbol} (this replay trades ${this.symbol})`);
  }

  /** Lots in an agent quantity; refused when off the lot grid. */
  lotsOf(quantity: number): number {
    const lots = this.lotGrid.units(quantity);
    if (Number.isNaN(lots)) {
      throw new BackendError(
        'rejected',
        `backtest: quantity ${show(quantity)} is off the ${this.symbol} lot grid (lot size ${show(this.lotGrid.step)}); use a positive multiple of the lot size`,
      );
    }
    return lots;
  }

  /** Ticks in an agent price; refused when off the tick grid. */
  ticksOf(price: number): number {
    const ticks = this.priceGrid.units(price);
    if (Number.isNaN(ticks)) {
      throw new BackendError(
        'rejected',
        `backtest: price ${show(price)} is off the ${this.symbol} tick grid (tick size ${show(this.priceGrid.step)}); use a positive multiple of the tick size`,
      );
    }
    return ticks;
  }
}
