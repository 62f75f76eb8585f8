import { randomUUID } from 'node:crypto';
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { DependencyError, DomainError } from '../errors';

/**
 * The one mapping from errors to HTTP answers. Domain errors say what was wrong (4xx, or 503 naming
 * the dependency that is down); anything unexpected is a 500 whose text stays in the log under an
 * error id the caller can quote.
 */
export interface ErrorBody {
  error: { code: string; message: string; errorId?: string; [key: string]: unknown };
}

export function errorResponse(e: unknown, context: InvocationContext): HttpResponseInit {
  if (e instanceof DomainError) {
    if (e instanceof DependencyError) {
      context.warn(
        JSON.stringify({ event: 'dependency_unavailable', dependency: e.dependency, message: e.message }),
      );
    }
    return {
      status: e.status,
      headers: { 'cache-control': 'no-store' },
      jsonBody: { error: { code: e.code, message: e.message, ...(e.details ?? {}) } } satisfies ErrorBody,
    };
  }
  const errorId = randomUUID();
  context.error(
    JSON.stringify({
      event: 'unhandled_error',
      errorId,
      name: e instanceof Error ? e.name : typeof e,
      message: e instanceof Error ? e.message : String(e),
      stack: e instanceof Error ? e.stack : undefined,
    }),
  );
  return {
    status: 500,
    headers: { 'cache-control': 'no-store' },
    jsonBody: {
      error: { code: 'internal_error', message: 'Something went wrong on our side.', errorId },
    } satisfies ErrorBody,
  };
}

/** Wraps a handler so every thrown error goes through `errorResponse`. */
export function handled(
  fn: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
): HttpHandler {
  return async (request, context) => {
    try {
      return await fn(request, context);
    } catch (e) {
      return errorResponse(e, context);
    }
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'cache-control': 'no-store', ...headers } };
}
