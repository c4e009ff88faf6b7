// The ReAct-style agent loop: observe, ask the model, run its tool calls through the guarded tools,
// feed the results (ToolError JSON included) back, with bounded steps per bar and timeouts.
import type { BacktestTradingBackend } from '../backtest/backend';
import type { StepContext } from '../backtest/replay';
import { DeadlineRace, type DeadlineClock } from '../deadline';
import { native } from '../native/index';
import { dispatchToolCall, toOpenAITools } from '../tool-formats';
import type { TradingTools } from '../tools';
import type { ChatMessage, LlmProvider, ModelReply, ObservationView, ToolSpec } from '../llm/types';
import type { AuditLog } from './audit';
import type { Observation } from './observation';

export const DEFAULT_SYSTEM_PROMPT = [
  'You are a cautious trading agent. Each user message is a JSON observation: recent bars',
  '([timestamp_ms, open, high, low, close, volume], oldest first), your position, cash, equity,',
  'open orders and the results of your last tool calls. Use the tools to trade; every order passes',
  'a risk chain, and a refusal comes back as a ToolError JSON with a code you should respect.',
  'When there is nothing (more) to do, call finish_bar (or answer briefly without a tool call).',
].join(' ');

export interface AgentLoopOptions {
  provider: LlmProvider;
  tools: TradingTools;
  systemPrompt?: string;
  /** Bars in each observation. */
  historyBars?: number;
  /** Model calls per bar at most (tool results are fed back between them). */
  maxStepsPerBar?: number;
  /** Ask the model every this many bars. */
  decideEvery?: number;
  modelTimeoutMs?: number;
  /** Times the model calls (default the system clock; a test moves its own). */
  deadlineClock?: DeadlineClock;
  audit?: AuditLog;
  onModelError?: (error: unknown) => void;
}

export interface AgentStats {
  provider: string;
  model: string;
  observations: number;
  modelCalls: number;
  modelErrors: number;
  promptTokens: number;
  completionTokens: number;
  tokensEstimated: boolean;
  toolCalls: number;
  /** Tool calls not run because an earlier call of the same reply was a successful `finish_bar`. */
  toolCallsSkipped: number;
  /** Bars (or live cycles) the model ended with `finish_bar`. */
  finishedBars: number;
  /** Backend acks by status (New, Filled, ...). */
  ordersByStatus: Record<string, number>;
  /** Refusals and failures by ToolError code. */
  rejectionsByCode: Record<string, number>;
}

/** Exactly `JSON.stringify(results)`, written without walking an array of objects (once per bar). */
export function lastResultsJson(results: Observation['last_results']): string {
  let json = '[';
  for (let i = 0; i < results.length; i += 1) {
    const r = results[i] as Observation['last_results'][number];
    json += `${i === 0 ? '' : ','}{"tool":${JSON.stringify(r.tool)},"ok":${r.ok},"content":${JSON.stringify(r.content)}}`;
  }
  return `${json}]`;
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export class AgentLoop {
  private readonly provider: LlmProvider;
  private readonly tools: TradingTools;
  private readonly specs: ToolSpec[];
  private readonly system: ChatMessage;
  private readonly historyBars: number;
  private readonly maxSteps: number;
  private readonly decideEvery: number;
  private readonly modelTimeoutMs: number;
  private readonly audit: AuditLog | undefined;
  private readonly onModelError: (error: unknown) => void;
  private lastResults: Observation['last_results'] = [];
  private lastResultsJson = '[]';
  /** Every bar's JSON, comma-joined in one flat string, and where bar `i` starts in it. */
  private barsJson: { data: BacktestTradingBackend['data']; text: string; starts: Float64Array } | undefined;
  /** The controller of the model call in flight (the loop's calls are sequential). */
  private inFlight: AbortController | undefined;
  private readonly modelDeadline: DeadlineRace;
  readonly stats: AgentStats;
  /** Every refusal or failure, in order (the report's rejection timeline). */
  readonly rejections: Array<{ step: number; timeMs: number; code: string }> = [];

  constructor(options: AgentLoopOptions) {
    this.provider = options.provider;
    this.tools = options.tools;
    this.specs = toOpenAITools(options.tools.tools);
    this.system = { role: 'system', content: options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT };
    this.historyBars = options.historyBars ?? 30;
    this.maxSteps = options.maxStepsPerBar ?? 3;
    this.decideEvery = options.decideEvery ?? 1;
    this.modelTimeoutMs = options.modelTimeoutMs ?? 30_000;
    // A disabled log gets no records at all (building one costs more than the write it skips).
    this.audit = options.audit?.enabled === true ? options.audit : undefined;
    this.onModelError = options.onModelError ?? (() => undefined);
    this.modelDeadline = new DeadlineRace(this.modelTimeoutMs, () => {
      const error = new Error(`model did not answer within ${this.modelTimeoutMs} ms`);
      this.inFlight?.abort(error);
      return error;
    }, options.deadlineClock);
    this.stats = {
      provider: this.provider.name,
      model: this.provider.model,
      observations: 0,
      modelCalls: 0,
      modelErrors: 0,
      promptTokens: 0,
      completionTokens: 0,
      tokensEstimated: false,
      toolCalls: 0,
      toolCallsSkipped: 0,
      finishedBars: 0,
      ordersByStatus: {},
      rejectionsByCode: {},
    };
  }

  /** The outcomes of the last observation's tool calls (the next observation's `last_results`). */
  get lastToolResults(): Observation['last_results'] {
    return this.lastResults;
  }

  /** A `BacktestReplay` step hook. */
  readonly onStep = (step: StepContext): Promise<void> | undefined =>
    (step.index + 1) % this.decideEvery === 0 ? this.act(this.observationJson(step.backend), step.index, step.timestampMs, this.view) : undefined;

  /** The numbers of the last `observationJson`, for in-process providers (see `ObservationView`). */
  private view: ObservationView | undefined;

  /**
   * The observation (see `Observation`) as the JSON the model receives. Written directly: the bars
   * of all steps are serialized once into one flat string, and each observation's window is a
   * slice of it (O(1); a bar enters ~`historyBars` observations).
   */
  observationJson(backend: BacktestTradingBackend): string {
    const end = backend.step + 1;
    const start = Math.max(0, end - this.historyBars);
    const all = this.allBarsJson(backend.data);
    // Each bar is followed by a comma in `text`; the slice drops the last one.
    const bars = end > start ? all.text.slice(all.starts[start], (all.starts[end] as number) - 1) : '';
    const openCount = backend.openOrderCount();
    const data = backend.data;
    const position = backend.positionQuantity();
    this.view = {
      symbol: backend.symbol,
      position,
      openOrders: openCount,
      closes: (data.kind === 'bars' ? data.close : data.price).subarray(start, end),
    };
    const openOrders =
      openCount === 0 ? '[]' : JSON.stringify(backend.openOrders().map((o) => ({ order_id: o.orderId, side: o.side, price: o.price, remaining: o.remaining })));
    return `{"time_ms":${backend.timestampMs},"symbol":${this.symbolJson(backend.symbol)},"bars":[${bars}],"position":${position},"cash":${backend.cash},"equity":${backend.currentEquity()},"open_orders":${openOrders},"last_results":${this.lastResultsJson}}`;
  }

  private symbolJsonCache: { symbol: string; json: string } | undefined;

  private symbolJson(symbol: string): string {
    if (this.symbolJsonCache?.symbol !== symbol) this.symbolJsonCache = { symbol, json: JSON.stringify(symbol) };
    return this.symbolJsonCache.json;
  }

  private allBarsJson(data: BacktestTradingBackend['data']): { text: string; starts: Float64Array } {
    if (this.barsJson?.data === data) return this.barsJson;
    const starts = new Float64Array(data.length + 1);
    const columns =
      data.kind === 'bars'
        ? [data.timestamp, data.open, data.high, data.low, data.close, data.volume]
        : [data.timestamp, data.price, data.price, data.price, data.price, data.amount];
    // Native: its number printing (same text as JSON.stringify) is several times V8's.
    this.barsJson = { data, text: native.rowsJson(columns, starts), starts };
    return this.barsJson;
  }

  /**
   * One observation: ask the model, run its tool calls, repeat up to `maxStepsPerBar`. A
   * successful `finish_bar` ends the bar there: the calls after it in the same reply are not run
   * and the model is not asked again until the next observation.
   */
  async act(observationJson: string, step: number, timeMs: number, view?: ObservationView): Promise<void> {
    this.stats.observations += 1;
    const messages: ChatMessage[] = [this.system, { role: 'user', content: observationJson }];
    const results: Observation['last_results'] = [];
    for (let turn = 0; turn < this.maxSteps; turn += 1) {
      let reply: ModelReply;
      try {
        reply = this.provider.completeInProcess !== undefined ? this.provider.completeInProcess(messages, this.specs, view) : await this.askModel(messages, view);
      } catch (error) {
        this.stats.modelErrors += 1;
        this.audit?.write({ kind: 'model', time_ms: timeMs, step, provider: this.provider.name, prompt_tokens: 0, completion_tokens: 0, tool_calls: 0, error: String(error) });
        this.onModelError(error);
        break; // no decision this bar: fail safe, never trade on a half answer
      }
      this.stats.modelCalls += 1;
      this.stats.promptTokens += reply.usage.promptTokens;
      this.stats.completionTokens += reply.usage.completionTokens;
      this.stats.tokensEstimated ||= reply.usage.estimated;
      const calls = reply.message.tool_calls ?? [];
      this.audit?.write({
        kind: 'model',
        time_ms: timeMs,
        step,
        provider: this.provider.name,
        prompt_tokens: reply.usage.promptTokens,
        completion_tokens: reply.usage.completionTokens,
        tool_calls: calls.length,
      });
      messages.push(reply.message);
      if (calls.length === 0) break;
      let finished = false;
      for (const [index, call] of calls.entries()) {
        this.stats.toolCalls += 1;
        const outcome = await dispatchToolCall(this.tools.tools, call.function.name, call.function.arguments);
        if (outcome.status !== undefined) increment(this.stats.ordersByStatus, outcome.status);
        if (outcome.code !== undefined) {
          increment(this.stats.rejectionsByCode, outcome.code);
          this.rejections.push({ step, timeMs, code: outcome.code });
        }
        this.audit?.write({
          kind: 'tool',
          time_ms: timeMs,
          step,
          tool: call.function.name,
          args: call.function.arguments,
          ok: outcome.ok,
          result: outcome.content,
          ...(outcome.code === undefined ? {} : { code: outcome.code }),
        });
        messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.content });
        results.push({ tool: call.function.name, ok: outcome.ok, content: outcome.content });
        if (call.function.name === 'finish_bar' && outcome.ok) {
          this.stats.finishedBars += 1;
          this.stats.toolCallsSkipped += calls.length - index - 1;
          finished = true;
          break;
        }
      }
      if (finished) break;
    }
    this.lastResults = results;
    this.lastResultsJson = lastResultsJson(results);
  }

  /**
   * One model call with a timeout. One sweeper times all calls; a provider that does I/O gets its
   * own AbortController per call (listeners must not pile up on a shared signal), an in-process
   * one none (a controller per call would cost more than the call).
   */
  private askModel(messages: ChatMessage[], view: ObservationView | undefined) {
    if (this.provider.cancellable !== true) return this.modelDeadline.run(this.provider.complete(messages, this.specs, undefined, view));
    const controller = new AbortController();
    this.inFlight = controller;
    return this.modelDeadline.run(this.provider.complete(messages, this.specs, controller.signal, view));
  }
}
