// `[metrics] callback = "prometheus:http://host:port/path"`: Prometheus text over HTTP. The SPEC §7
// series come from the native registry as they are (with the risk-state store's, once used);
// prom-client adds the process metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { collectDefaultMetrics, Registry } from 'prom-client';

import type { TradingMetrics } from './metrics';

export interface PrometheusEndpoint {
  /** Where it listens (with the real port when 0 was asked for). */
  readonly url: string;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** `prometheus:http://host:port/path` (or a bare `http://...` URL) to host, port and path. */
export function parsePrometheusTarget(target: string): { host: string; port: number; path: string } {
  const url = new URL(target.replace(/^prometheus:/, ''));
  if (url.protocol !== 'http:') throw new TypeError(`metrics.callback must be prometheus:http://host:port/path, got ${target}`);
  return { host: url.hostname, port: url.port === '' ? 80 : Number(url.port), path: url.pathname };
}

export async function servePrometheus(metrics: TradingMetrics, target: string): Promise<PrometheusEndpoint> {
  const { host, port, path } = parsePrometheusTarget(target);
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const server: Server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://x').pathname;
    if (pathname !== path) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${path}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    Promise.all([metrics.prometheusText(), processRegistry.metrics()])
      .then(([tradingText, processText]) => {
        const body = `${tradingText}${processText}`;
        response.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        response.end(request.method === 'HEAD' ? undefined : body);
      })
      .catch((error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}${path}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
