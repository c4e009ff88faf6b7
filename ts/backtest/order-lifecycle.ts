// The agent-order lifecycle against the matching engine: place, cancel and replace (synchronous;
// the backend's TradingBackend calls wrap them), resting orders filled by the replayed data
// (`fillThrough`), every fill booked into the account, and the acks.
// Invariants:
// - `bt-<n>` names orders[n - 1] for the whole run; a client order id placed once returns the ack
//   of that place on every retry (never a second order);
// - `resting` holds exactly the agent orders in the engine book, by engine id, and the exposure
//   counts their open lots; an order leaves both together (filled, cancelled, replaced away);
// - checks (symbol, grid, funds) run before the engine call: a refused order changes no order,
//   funds or position (only this step's seeded ladder may have been placed);
// - prices are ticks and quantities lots from the agent's input (`ticksOf`, `lotsOf`) to the
//   engine and back (`submitUnits`, `replaceUnits`, fill and result units): nothing the engine
//   reports is read back onto a grid; floats (`value(units)`) are made only for acks, events and
//   the account's money;
// - each agent call that changed something ends by recording the step's equity and pushing events.
import { ClientIdWindow } from '../backends/client-id-window';
import { BackendError } from '../errors';
import type { EngineFillUnits, MatchingEngine } from '../matching';
import { ENGINE_ORDER_TYPES, ENGINE_REJECT_REASONS, ENGINE_SIDES, ENGINE_STATUSES, ENGINE_TIME_IN_FORCES } from '../native/layout';
import type { AckStatus, OpenOrder, OrderAck, OrderRequest, OrderType, ReplaceRequest, Side, TimeInForce } from '../types';
import type { BacktestAccount } from './account';
import { agentOrderId, agentOrderNumber, type AgentOrder } from './agent-order';
import type { BacktestEvents } from './events';
import type { OpenExposure } from './exposure';
import type { SeededLiquidity } from './liquidity';
import type { ReplayCursor } from './replay-cursor';
import { show } from './show-number';
import type { VenueTerms } from './venue';

const NO_FILLS: readonly EngineFillUnits[] = [];

// Engine codes, looked up once at load in the generated layout's tables (not restated here).
function twoWayCode(table: readonly string[], name: string): 0 | 1 {
  const code = table.indexOf(name);
  if (code !== 0 && code !== 1) throw new Error(`engine layout: ${name} has code ${code}, expected 0 or 1`);
  return code;
}
function threeWayCode(table: readonly string[], name: string): 0 | 1 | 2 {
  const code = table.indexOf(name);
  if (code !== 0 && code !== 1 && code !== 2) throw new Error(`engine layout: ${name} has code ${code}, expected 0, 1 or 2`);
  return code;
}
const BUY = twoWayCode(ENGINE_SIDES, 'Buy');
const SELL = twoWayCode(ENGINE_SIDES, 'Sell');
const LIMIT = twoWayCode(ENGINE_ORDER_TYPES, 'Limit');
const MARKET = twoWayCode(ENGINE_ORDER_TYPES, 'Market');
const GTC = threeWayCode(ENGINE_TIME_IN_FORCES, 'GTC');
const IOC = threeWayCode(ENGINE_TIME_IN_FORCES, 'IOC');
const FOK = threeWayCode(ENGINE_TIME_IN_FORCES, 'FOK');
const FOK_NOT_FILLABLE = ENGINE_REJECT_REASONS.indexOf('FokNotFillable');

function engineRefusal(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BackendError('rejected', `backtest: matching engine refused the order: ${message}`, { cause: error });
}

export class AgentOrderLifecycle {
  /** Every agent order of the run; `bt-<n>` is `orders[n - 1]`. */
  private readonly orders: AgentOrder[] = [];
  private readonly resting = new Map<number, AgentOrder>();
  /** Client ids of the run's orders (never forgotten: a retried send must find its order). */
  private readonly clientIds = new ClientIdWindow(Number.MAX_SAFE_INTEGER);
  /** The ack each place returned, by its client id's slot. */
  private readonly placeAcks: OrderAck[] = [];

  constructor(
    private readonly terms: VenueTerms,
    private readonly engine: MatchingEngine,
    private readonly symbolId: number,
    private readonly liquidity: SeededLiquidity,
    private readonly cursor: ReplayCursor,
    private readonly account: BacktestAccount,
    private readonly exposure: OpenExposure,
    private readonly events: BacktestEvents,
  ) {}

  /** Orders accepted so far. */
  get orderCount(): number {
    return this.orders.length;
  }

  /** Agent orders resting now. */
  get openOrderCount(): number {
    return this.resting.size;
  }

  openOrders(): OpenOrder[] {
    const { symbol, lotGrid } = this.terms;
    return [...this.resting.values()].map((o) => ({
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      symbol,
      side: o.side,
      price: o.price,
      quantity: lotGrid.value(o.quantityLots),
      remaining: lotGrid.value(o.quantityLots - o.filledLots),
    }));
  }

  place(request: OrderRequest): OrderAck {
    const known = this.clientIds.find(request.clientOrderId);
    if (known >= 0) return this.placeAcks[known] as OrderAck; // a retried send: the order already exists
    const terms = this.terms;
    terms.checkSymbol(request.symbol);
    this.cursor.requireStarted();
    if (request.stopLoss !== undefined || request.takeProfit !== undefined) {
      throw new BackendError('rejected', 'backtest: stop_loss/take_profit orders are not supported; place the exit as its own order');
    }
    const lots = terms.lotsOf(request.quantity);
    const isMarket = request.orderType === 'Market';
    let priceTicks = 0;
    if (!isMarket) {
      if (request.price === undefined) throw new BackendError('rejected', 'backtest: a Limit order needs a price');
      priceTicks = terms.ticksOf(request.price);
    }
    const marketable = isMarket || this.liquidity.crosses(request.side, priceTicks, this.cursor.price);
    if (marketable) this.liquidity.ensureSeeded(this.cursor.step, this.cursor.price);
    this.exposure.checkFunds(request.side, lots, isMarket ? null : priceTicks);

    const fills = this.submitToEngine(request.side, request.orderType, priceTicks, lots, request.timeInForce);
    const outcome = this.engine.last;
    const status = ENGINE_STATUSES[outcome.statusCode];
    if (status !== 'New' && status !== 'PartiallyFilled' && status !== 'Filled' && status !== 'Cancelled') {
      throw new BackendError(
        'rejected',
        outcome.reasonCode === FOK_NOT_FILLABLE
          ? `backtest: FOK order for ${show(request.quantity)} ${request.symbol} cannot be filled completely now`
          : `backtest: order rejected by the matching engine (reason ${outcome.reasonCode})`,
      );
    }
    const order: AgentOrder = {
      orderId: agentOrderId(this.orders.length + 1),
      engineId: outcome.orderId,
      clientOrderId: request.clientOrderId,
      side: request.side,
      orderType: request.orderType,
      priceTicks,
      price: isMarket ? 0 : terms.priceGrid.value(priceTicks),
      quantityLots: lots,
      filledLots: 0,
      filledValue: 0,
      resting: false,
      status,
    };
    const remainingLots = outcome.remainingLots;
    this.orders.push(order);
    this.applyFills(fills, order);
    if ((status === 'New' || status === 'PartiallyFilled') && remainingLots > 0) {
      order.resting = true;
      this.resting.set(order.engineId, order);
      this.exposure.add(order, remainingLots);
      this.events.orderChanged(order);
    }
    this.afterAgentChange();
    const ack = this.ack(order, order.status);
    this.placeAcks[this.clientIds.add(request.clientOrderId)] = ack;
    return ack;
  }

  cancel(orderId: string): OrderAck {
    const order = this.openOrder(orderId);
    try {
      this.engine.cancelFast(order.engineId);
    } catch (error) {
      throw engineRefusal(error);
    }
    this.exposure.release(order, order.quantityLots - order.filledLots);
    this.closeOrder(order, 'Cancelled');
    this.afterAgentChange();
    return this.ack(order, 'Cancelled');
  }

  /**
   * `quantity` is the new total quantity (it must exceed what has filled; the open part becomes
   * quantity - filled). A new price that crosses trades at once.
   */
  replace(request: ReplaceRequest): OrderAck {
    const terms = this.terms;
    const { lotGrid, priceGrid } = terms;
    const order = this.openOrder(request.orderId);
    const totalLots = request.quantity === undefined ? order.quantityLots : terms.lotsOf(request.quantity);
    if (totalLots <= order.filledLots) {
      throw new BackendError(
        'rejected',
        `backtest: new quantity ${show(lotGrid.value(totalLots))} is not above the ${show(lotGrid.value(order.filledLots))} already filled`,
      );
    }
    const priceTicks = request.price === undefined ? order.priceTicks : terms.ticksOf(request.price);
    const openLots = totalLots - order.filledLots;
    if (this.liquidity.crosses(order.side, priceTicks, this.cursor.price)) this.liquidity.ensureSeeded(this.cursor.step, this.cursor.price);
    if (order.side === 'Buy') {
      // Funds: the replaced order's own lock is released first.
      const held = lotGrid.value(order.quantityLots - order.filledLots) * order.price;
      this.exposure.checkFunds('Buy', openLots, priceTicks, held);
    } else {
      this.exposure.checkFunds('Sell', openLots, priceTicks, 0, order.quantityLots - order.filledLots);
    }
    try {
      this.engine.replaceUnits(order.engineId, priceTicks, openLots);
    } catch (error) {
      throw engineRefusal(error);
    }
    const outcome = this.engine.last;
    const fills = outcome.fillCount === 0 ? NO_FILLS : this.engine.readFillUnits();
    const remainingLots = outcome.remainingLots;
    const engineStatus = ENGINE_STATUSES[outcome.statusCode];
    // The engine took the order out and re-entered it: unbook the old open part first.
    this.exposure.release(order, order.quantityLots - order.filledLots);
    this.resting.delete(order.engineId);
    order.resting = false;
    order.priceTicks = priceTicks;
    order.price = priceGrid.value(priceTicks);
    order.quantityLots = totalLots;
    this.applyFills(fills, order);
    let status: AckStatus;
    if (remainingLots > 0 && (engineStatus === 'New' || engineStatus === 'PartiallyFilled')) {
      order.resting = true;
      this.resting.set(order.engineId, order);
      this.exposure.add(order, remainingLots);
      order.status = order.filledLots > 0 ? 'PartiallyFilled' : 'New';
      this.events.orderChanged(order);
      status = 'Replaced';
    } else {
      order.status = order.filledLots >= order.quantityLots ? 'Filled' : 'Cancelled';
      this.events.orderChanged(order, 0); // no longer open
      status = order.status;
    }
    this.afterAgentChange();
    return this.ack(order, status);
  }

  /**
   * Trade resting agent orders on `side` priced at or beyond `thresholdTicks` (bids >= / asks <=),
   * up to `lots`, by sending the market's side through the engine as an IOC limit: real price-time
   * priority among the agent's orders, each filled at its own price. Called at a step's start,
   * with no seeded liquidity in the book.
   */
  fillThrough(side: Side, thresholdTicks: number, lots: number): void {
    if (thresholdTicks < 1) return;
    const best = this.exposure.bestAgentTicks(side);
    if (side === 'Buy' ? best < thresholdTicks : best > thresholdTicks) return;
    const fills = this.submitToEngine(side === 'Buy' ? 'Sell' : 'Buy', 'Limit', thresholdTicks, lots, 'IOC');
    this.applyFills(fills, null);
  }

  /**
   * One order into the engine in ticks and lots (no result object, no float): the outcome is in
   * `engine.last`, the fills are returned. Engine errors become `BackendError('rejected')`.
   */
  private submitToEngine(side: Side, orderType: OrderType, priceTicks: number, lots: number, timeInForce: TimeInForce): readonly EngineFillUnits[] {
    try {
      this.engine.submitUnits(
        this.symbolId,
        side === 'Buy' ? BUY : SELL,
        orderType === 'Limit' ? LIMIT : MARKET,
        orderType === 'Limit' ? priceTicks : 0,
        lots,
        timeInForce === 'GTC' ? GTC : timeInForce === 'IOC' ? IOC : FOK,
        false,
      );
    } catch (error) {
      throw engineRefusal(error);
    }
    return this.engine.last.fillCount === 0 ? NO_FILLS : this.engine.readFillUnits();
  }

  /** The order `bt-<n>` names (only that exact spelling), if this run placed it. */
  private orderById(orderId: string): AgentOrder | undefined {
    const number = agentOrderNumber(orderId);
    return number > 0 ? this.orders[number - 1] : undefined;
  }

  private openOrder(orderId: string): AgentOrder {
    const order = this.orderById(orderId);
    if (order === undefined || !order.resting) {
      throw new BackendError('rejected', `backtest: order ${orderId} is not open${order === undefined ? '' : ` (${order.status})`}`);
    }
    return order;
  }

  /** Book fills: agent makers (from the engine's resting ids) and the agent taker `taker`, if any. */
  private applyFills(fills: readonly EngineFillUnits[], taker: AgentOrder | null): void {
    const priceGrid = this.terms.priceGrid;
    for (const fill of fills) {
      const lots = fill.lots;
      const price = priceGrid.value(fill.priceTicks);
      const maker = this.resting.get(fill.makerOrderId);
      // A maker that is not an agent order is seeded liquidity: nothing to book for it.
      if (maker !== undefined) {
        this.fillOrder(maker, price, lots, 'maker', fill.seq);
        this.exposure.release(maker, lots);
        if (maker.filledLots >= maker.quantityLots) this.closeOrder(maker, 'Filled');
        else {
          maker.status = 'PartiallyFilled';
          this.events.orderChanged(maker);
        }
      }
      if (taker !== null) this.fillOrder(taker, price, lots, 'taker', fill.seq);
    }
  }

  private fillOrder(order: AgentOrder, price: number, lots: number, liquidity: 'maker' | 'taker', seq: number): void {
    const quantity = this.account.bookFill(order, price, lots, liquidity, seq);
    order.filledLots += lots;
    order.filledValue += price * quantity;
  }

  /** A resting order left the book (filled or cancelled): forget it and tell listeners. */
  private closeOrder(order: AgentOrder, status: AckStatus): void {
    order.resting = false;
    order.status = status;
    this.resting.delete(order.engineId);
    this.events.orderChanged(order, 0);
  }

  private afterAgentChange(): void {
    this.account.recordEquity();
    this.events.stateChanged(false);
  }

  private ack(order: AgentOrder, status: AckStatus): OrderAck {
    const lotGrid = this.terms.lotGrid;
    const filledQuantity = lotGrid.value(order.filledLots);
    const ack: OrderAck = {
      orderId: order.orderId,
      symbol: this.terms.symbol,
      side: order.side,
      quantity: lotGrid.value(order.quantityLots),
      status,
      timestampMs: this.cursor.timestampMs,
      filledQuantity,
    };
    if (order.filledLots > 0) ack.averagePrice = order.filledValue / filledQuantity;
    return ack;
  }
}
