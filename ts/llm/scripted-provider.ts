// `scripted`: an offline, deterministic stand-in for a model. It reads the observation and emits
// the tool-call messages a model would: a moving-average trend rule, plus, on a fixed schedule,
// the mistakes a real model makes (oversized orders, a symbol it may not trade, a burst of them),
// so a run shows the guardrails stopping them.
import { isObservation, observationView } from '../agent/observation';
import { estimateTokens, type ChatMessage, type LlmProvider, type ModelReply, type ObservationView, type ToolCall, type ToolSpec } from './types';

export interface ScriptedOptions {
  /** Base order size. */
  quantity?: number;
  fast?: number;
  slow?: number;
  /** Every this many observations, one deliberate out-of-limits proposal. */
  probeEvery?: number;
  /** Every this many observations, a burst of oversized proposals, each retried on refusal within
   * its bar: with 3 model steps per bar, two bars make six in a row, enough to open a breaker. */
  burstEvery?: number;
  burstLength?: number;
  /** A symbol outside the allowed list, for the probes. */
  foreignSymbol?: string;
  /**
   * End each bar with a `finish_bar` call (noting what it did) where it would otherwise answer
   * with text: one model call fewer per bar that traded. Default false.
   */
  finishBar?: boolean;
}

/** Mean of the last `n` values. */
function meanOfLast(values: ArrayLike<number>, n: number): number {
  let sum = 0;
  for (let i = values.length - n; i < values.length; i += 1) sum += values[i] as number;
  return sum / n;
}


function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

export class ScriptedProvider implements LlmProvider {
  readonly name = 'scripted';
  readonly model = 'scripted-ma-crossover';
  private readonly o: Required<ScriptedOptions>;
  private observations = 0;
  private callSeq = 0;
  private burstCall: { name: string; args: Record<string, unknown> } | undefined;

  constructor(options: ScriptedOptions = {}) {
    this.o = {
      quantity: options.quantity ?? 0.05,
      fast: options.fast ?? 8,
      slow: options.slow ?? 21,
      probeEvery: options.probeEvery ?? 97,
      burstEvery: options.burstEvery ?? 1_000,
      burstLength: options.burstLength ?? 2,
      foreignSymbol: options.foreignSymbol ?? 'DOGE-USDT',
      finishBar: options.finishBar ?? false,
    };
  }

  complete(messages: readonly ChatMessage[], tools: readonly ToolSpec[], _signal?: AbortSignal, observation?: ObservationView): Promise<ModelReply> {
    try {
      return Promise.resolve(this.completeInProcess(messages, tools, observation));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  completeInProcess(messages: readonly ChatMessage[], _tools: readonly ToolSpec[], observation?: ObservationView): ModelReply {
    const last = messages[messages.length - 1];
    const prompt = messages.reduce((n, m) => n + estimateTokens(typeof m.content === 'string' ? m.content : ''), 0);
    let toolCalls: ToolCall[] = [];
    let content: string | null = null;
    if (last?.role === 'user') {
      let view = observation;
      if (view === undefined) {
        const parsed: unknown = JSON.parse(last.content);
        if (!isObservation(parsed)) throw new Error('scripted provider: the last user message is not an observation');
        view = observationView(parsed);
      }
      toolCalls = this.decide(view);
      if (toolCalls.length === 0) {
        if (this.o.finishBar) toolCalls = [this.call('finish_bar', { note: 'hold' })];
        else content = 'hold';
      }
    } else if (last?.role === 'tool' && this.burstCall !== undefined && last.content.includes('"error_type"')) {
      // Carried away: retry the refused order at once, within the same bar.
      toolCalls = [this.call(this.burstCall.name, this.burstCall.args)];
    } else if (last?.role === 'tool' && last.content.includes('"status":"PendingConfirm"')) {
      // TwoPhase: confirm the order just proposed, same fields plus the token the guard issued.
      const confirmation = this.confirmation(messages, last.tool_call_id, last.content);
      if (confirmation === undefined) content = 'noted';
      else toolCalls = [confirmation];
    } else if (this.o.finishBar && last?.role === 'tool' && !this.finishedThisBar(messages)) {
      toolCalls = [this.call('finish_bar', { note: 'acted' })];
    } else {
      content = 'noted';
    }
    const message = { role: 'assistant' as const, content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
    const completion = estimateTokens(JSON.stringify(message));
    return { message, usage: { promptTokens: prompt, completionTokens: completion, estimated: true } };
  }

  /** Whether this bar's conversation already has a `finish_bar` call (its result is the last message). */
  private finishedThisBar(messages: readonly ChatMessage[]): boolean {
    return messages.some((m) => m.role === 'assistant' && m.tool_calls?.some((c) => c.function.name === 'finish_bar') === true);
  }

  private confirmation(messages: readonly ChatMessage[], toolCallId: string, result: string): ToolCall | undefined {
    for (let i = messages.length - 1; i >= 0; i -= 1) {
      const message = messages[i];
      if (message?.role !== 'assistant') continue;
      const proposed = message.tool_calls?.find((c) => c.id === toolCallId);
      if (proposed === undefined) continue;
      const token = (JSON.parse(result) as { confirm_token?: unknown }).confirm_token;
      if (typeof token !== 'string') return undefined;
      const args = JSON.parse(proposed.function.arguments) as Record<string, unknown>;
      return this.call(proposed.function.name, { ...args, confirm_token: token });
    }
    return undefined;
  }

  private call(name: string, args: Record<string, unknown>): ToolCall {
    this.callSeq += 1;
    return { id: `scripted_${this.callSeq}`, type: 'function', function: { name, arguments: JSON.stringify(args) } };
  }

  private decide(obs: ObservationView): ToolCall[] {
    this.observations += 1;
    const n = this.observations;
    const closes = obs.closes;
    if (closes.length === 0) return [];
    const close = closes[closes.length - 1] as number;
    const inBurst = n % this.o.burstEvery < this.o.burstLength && n >= this.o.burstEvery;
    this.burstCall = undefined;
    if (inBurst) {
      // A model that got carried away: far too large, again and again (retried on every refusal).
      this.burstCall = { name: 'place_order', args: { symbol: obs.symbol, side: 'Buy', quantity: round(this.o.quantity * 1_000, 3), order_type: 'Market' } };
      return [this.call(this.burstCall.name, this.burstCall.args)];
    }
    if (n % this.o.probeEvery === 0) {
      return n % (2 * this.o.probeEvery) === 0
        ? [this.call('place_order', { symbol: this.o.foreignSymbol, side: 'Buy', quantity: 100, price: 0.1 })]
        : [this.call('place_order', { symbol: obs.symbol, side: 'Buy', quantity: round(this.o.quantity * 500, 3), price: round(close, 2) })];
    }
    if (closes.length < this.o.slow) return [];
    const fast = meanOfLast(closes, this.o.fast);
    const slow = meanOfLast(closes, this.o.slow);
    if (obs.openOrders > 0) return [];
    if (fast > slow && obs.position <= 0) {
      return [this.call('place_order', { symbol: obs.symbol, side: 'Buy', quantity: this.o.quantity, order_type: 'Market' })];
    }
    if (fast < slow && obs.position > 0) {
      return [this.call('place_order', { symbol: obs.symbol, side: 'Sell', quantity: round(obs.position, 8), order_type: 'Market' })];
    }
    return [];
  }
}
