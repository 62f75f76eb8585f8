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

/**
 * How a failure is answered, and its log line: a domain error keeps its status and words; a
 * dependency that is down (503) and anything unexpected (500) get an error id, logged with the
 * details the caller never sees. JSON answers and the customer pages both start here.
 */
export interface Failure {
  status: number;
  errorId: string | undefined;
  error: DomainError | undefined;
}

export function recordFailure(e: unknown, context: InvocationContext): Failure {
  if (e instanceof DomainError && !(e instanceof DependencyError)) {
    return { status: e.status, errorId: undefined, error: e };
  }
  const errorId = randomUUID();
  if (e instanceof DependencyError) {
    context.warn(
      JSON.stringify({
        event: 'dependency_unavailable',
        errorId,
        dependency: e.dependency,
        message: e.message,
      }),
    );
    return { status: e.status, errorId, error: e };
  }
  context.error(
    JSON.stringify({
      event: 'unhandled_error',
      errorId,
      name: e instanceof Error ? e.name : typeof e,
      message: e instanceof Error ? e.message : String(e),
      stack: e instanceof Error ? e.stack : undefined,
    }),
  );
  return { status: 500, errorId, error: undefined };
}

export function errorResponse(e: unknown, context: InvocationContext): HttpResponseInit {
  const { status, errorId, error } = recordFailure(e, context);
  const body: ErrorBody = error
    ? {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details ?? {}),
          ...(errorId ? { errorId } : {}),
        },
      }
    : { error: { code: 'internal_error', message: 'Something went wrong on our side.', errorId } };
  return { status, headers: { 'cache-control': 'no-store' }, jsonBody: body };
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
