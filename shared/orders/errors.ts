import { DomainError } from '../errors';
import type { SignatureProblem } from './signature';

const signatureMessages: Record<SignatureProblem, string> = {
  missing_signature: 'The X-Switchboard-Signature header is missing.',
  malformed_signature: 'The X-Switchboard-Signature header is not "t=<unix seconds>,v1=<hex>".',
  timestamp_out_of_tolerance: "The signature's timestamp is too far from the current time.",
  signature_mismatch: 'The signature does not match the body.',
};

/** 401: the request is not provably from the ordering system. Says what is wrong, never with which secret. */
export class SignatureError extends DomainError {
  constructor(readonly problem: SignatureProblem) {
    super(401, 'invalid_signature', signatureMessages[problem], { reason: problem });
  }
}

/** 503: no signing secret exists in Key Vault, so no request can be checked; the sender should retry later. */
export class WebhookNotConfiguredError extends DomainError {
  constructor() {
    super(
      503,
      'webhook_not_configured',
      'The orders webhook has no signing secret configured yet; retry later.',
    );
  }
}

/** An event that can never succeed as sent (a lifecycle rule, a conflicting customer): it fails with this. */
export class OrderRefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'OrderRefusedError';
  }
}
