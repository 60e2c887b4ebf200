/**
 * A sales channel's webhook for tests: a plain HTTP server on a free local port that keeps
 * the available-to-sell it was told, per channel, applying a message only when its
 * sequence is above the last one applied (a repeat changes nothing).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AvailabilityMessage } from '../../activities/channel-publishing.js';

export interface ReceivedRequest {
  message: AvailabilityMessage;
  idempotencyKey: string | undefined;
  sequenceHeader: string | undefined;
  signatureValid: boolean | undefined;
  answered: number;
  applied: boolean;
}

/** ok: apply and 200; fail: 500 and apply nothing; applyThenFail: apply, answer 500 (a lost acknowledgement), then ok. */
export type ReceiverMode = 'ok' | 'fail' | 'applyThenFail';

export class ChannelReceiver {
  mode: ReceiverMode = 'ok';
  readonly requests: ReceivedRequest[] = [];
  readonly ats = new Map<string, Map<string, number>>();
  readonly lastSequence = new Map<string, number>();
  private server: http.Server | undefined;
  private port = 0;

  constructor(private readonly secrets: Record<string, string> = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/webhooks/availability`;
  }

  async start(): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const message = JSON.parse(body) as AvailabilityMessage;
        const status = this.receive(message, body, request.headers);
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Goes away: new connections are refused until `start` listens on the same port again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  stateOf(channel: string): Map<string, number> {
    return this.ats.get(channel) ?? new Map();
  }

  applied(channel: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.applied && r.message.channel === channel);
  }

  private receive(message: AvailabilityMessage, body: string, headers: http.IncomingHttpHeaders): number {
    const secret = this.secrets[message.channel];
    const signature = headers['x-signature'];
    const signatureValid =
      secret === undefined
        ? undefined
        : typeof signature === 'string' &&
          signature.length === 71 &&
          timingSafeEqual(Buffer.from(signature), Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`));
    const record: ReceivedRequest = {
      message,
      idempotencyKey: headers['idempotency-key'] as string | undefined,
      sequenceHeader: headers['x-channel-sequence'] as string | undefined,
      signatureValid,
      answered: 200,
      applied: false,
    };
    this.requests.push(record);
    if (signatureValid === false) return (record.answered = 401);
    if (this.mode === 'fail') return (record.answered = 500);
    if (message.sequence > (this.lastSequence.get(message.channel) ?? 0)) {
      const state = this.ats.get(message.channel) ?? new Map<string, number>();
      for (const { sku, ats } of message.availability) state.set(sku, ats);
      this.ats.set(message.channel, state);
      this.lastSequence.set(message.channel, message.sequence);
      record.applied = true;
    }
    if (this.mode === 'applyThenFail') {
      this.mode = 'ok';
      return (record.answered = 500);
    }
    return record.answered;
  }
}
