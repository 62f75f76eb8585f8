/**
 * Typed domain errors. Services throw these; `shared/http/responses.ts` maps them to 4xx in one
 * place. Anything else is a 5xx whose text is hidden from the caller and logged with an id.
 * Messages must never carry a secret.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ValidationError extends DomainError {
  constructor(
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(400, 'validation_failed', message, { fields });
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Authentication is required.') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id?: string) {
    super(404, 'not_found', id === undefined ? `${what} not found.` : `${what} '${id}' not found.`);
  }
}

/** A write lost a race (stale ETag) or would duplicate something that must be unique. */
export class ConflictError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(409, 'conflict', message, details);
  }
}

export class GoneError extends DomainError {
  constructor(message: string) {
    super(410, 'gone', message);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `The body is larger than ${limitBytes} bytes.`);
  }
}

export class UnprocessableError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(422, 'unprocessable', message, details);
  }
}

/** A dependency (storage, vault, e-mail, Microsoft, an SBC) did not answer; named so operators know where to look. */
export class DependencyError extends DomainError {
  constructor(
    readonly dependency: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(503, 'dependency_unavailable', `${dependency} is unavailable: ${message}`, { dependency });
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
