/**
 * The API's Temporal client: bounded, with deadlines, and quick to say when Temporal is gone.
 *
 * The SDK's own retry of an unavailable server goes on for about 20 s; a storefront waiting
 * that long cannot tell "try later" from "broken". Here an unavailable server is retried for
 * a short budget only, every call has a deadline, and no more than a set number of calls are
 * in flight at once: past that, a call fails at once so the API can shed it with a 503.
 */
import { InterceptingCall, Metadata, status, type Interceptor } from '@grpc/grpc-js';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from './config.js';

export interface TemporalClientLimits {
  /** Deadline of one call that sets none of its own. */
  callTimeoutMs: number;
  /** How long an unavailable server is retried before the call fails. */
  unavailableRetryMs: number;
  /** Calls in flight at once from this process. */
  maxInFlight: number;
  /** A read of a process's live state; past it the API answers from the records. */
  queryTimeoutMs?: number;
}

/** What the bound sees, for metrics. */
export const temporalCalls = { inFlight: 0, limit: 0, refused: 0 };

/** Marks a call refused by this process's own bound, not by the server. */
export const OVERLOADED_DETAIL = 'too many Temporal calls in flight from this API';

/** Fails a call at once, without sending it, when the bound is reached. */
function inFlightBound(limit: number): Interceptor {
  temporalCalls.limit = limit;
  return (options, nextCall) => {
    if (temporalCalls.inFlight >= limit) {
      temporalCalls.refused += 1;
      return new InterceptingCall(nextCall(options), {
        start: (_metadata, listener) => {
          setImmediate(() => listener.onReceiveStatus({ code: status.RESOURCE_EXHAUSTED, details: OVERLOADED_DETAIL, metadata: new Metadata() }));
        },
        sendMessage: () => {},
        halfClose: () => {},
      });
    }
    temporalCalls.inFlight += 1;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        temporalCalls.inFlight -= 1;
      }
    };
    return new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        next(metadata, {
          onReceiveStatus: (received, nextStatus) => {
            finish();
            nextStatus(received);
          },
        });
      },
      cancel: (next) => {
        finish();
        next();
      },
    });
  };
}

/** A deadline for every call that brings none. */
function defaultDeadline(ms: number): Interceptor {
  return (options, nextCall) => new InterceptingCall(nextCall(options.deadline ? options : { ...options, deadline: Date.now() + ms }));
}

/** Retries of an unavailable server that fit in `budgetMs` (100 ms, then ×1.7 each time). */
export function retryAttemptsWithin(budgetMs: number): number {
  let attempts = 1;
  for (let waited = 0, delay = 100; waited + delay <= budgetMs; waited += delay, delay *= 1.7) attempts += 1;
  return attempts;
}

export function temporalInterceptors(limits: TemporalClientLimits): Interceptor[] {
  return [
    inFlightBound(limits.maxInFlight),
    defaultDeadline(limits.callTimeoutMs),
    makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: retryAttemptsWithin(limits.unavailableRetryMs), maxJitter: 0.1 })),
  ];
}

/**
 * A client connection for the API. Lazy: the API starts and answers what it can while
 * Temporal is down, and the connection comes up on first use (and again after a restart).
 */
export function apiTemporalClient(config: Config, address: string): { client: Client; connection: Connection } {
  const connection = Connection.lazy({
    address,
    ...config.temporalConnection,
    connectTimeout: config.resilience.temporalConnectTimeoutMs,
    interceptors: temporalInterceptors(config.resilience.temporal),
  });
  return { client: new Client({ connection, namespace: config.temporalNamespace }), connection };
}
