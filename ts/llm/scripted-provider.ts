// `scripted`: an offline, deterministic stand-in for a model. It reads the observation and emits
// the tool-call messages a model would: a moving-average trend rule, plus, on a fixed schedule,
// the mistakes a real model makes (oversized orders, a symbol it may not trade, a burst of them),
// so a run shows the guardrails stopping them.
import { isObservation, type Observation } from '../agent/observation';
import { estimateTokens, type ChatMessage, type LlmProvider, type ModelReply, type ToolCall, type ToolSpec } from './types';

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
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
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
    };
  }

  complete(messages: readonly ChatMessage[], _tools: readonly ToolSpec[]): Promise<ModelReply> {
    const last = messages[messages.length - 1];
    const prompt = messages.reduce((n, m) => n + estimateTokens(typeof m.content === 'string' ? m.content : ''), 0);
    let toolCalls: ToolCall[] = [];
    let content: string | null = null;
    if (last?.role === 'user') {
      const parsed: unknown = JSON.parse(last.content);
      if (!isObservation(parsed)) throw new Error('scripted provider: the last user message is not an observation');
      toolCalls = this.decide(parsed);
      if (toolCalls.length === 0) content = 'hold';
    } else if (last?.role === 'tool' && this.burstCall !== undefined && last.content.includes('"error_type"')) {
      // Carried away: retry the refused order at once, within the same bar.
      toolCalls = [this.call(this.burstCall.name, this.burstCall.args)];
    } else {
      content = 'noted';
    }
    const message = { role: 'assistant' as const, content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
    const completion = estimateTokens(JSON.stringify(message));
    return Promise.resolve({ message, usage: { promptTokens: prompt, completionTokens: completion, estimated: true } });
  }

  private call(name: string, args: Record<string, unknown>): ToolCall {
    this.callSeq += 1;
    return { id: `scripted_${this.callSeq}`, type: 'function', function: { name, arguments: JSON.stringify(args) } };
  }

  private decide(obs: Observation): ToolCall[] {
    this.observations += 1;
    const n = this.observations;
    const last = obs.bars[obs.bars.length - 1];
    if (last === undefined) return [];
    const close = last[4];
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
    const closes = obs.bars.map((bar) => bar[4]);
    if (closes.length < this.o.slow) return [];
    const fast = mean(closes.slice(-this.o.fast));
    const slow = mean(closes.slice(-this.o.slow));
    if (obs.open_orders.length > 0) return [];
    if (fast > slow && obs.position <= 0) {
      return [this.call('place_order', { symbol: obs.symbol, side: 'Buy', quantity: this.o.quantity, order_type: 'Market' })];
    }
    if (fast < slow && obs.position > 0) {
      return [this.call('place_order', { symbol: obs.symbol, side: 'Sell', quantity: round(obs.position, 8), order_type: 'Market' })];
    }
    return [];
  }
}
