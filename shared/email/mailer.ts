import { EmailClient, type EmailMessage } from '@azure/communication-email';
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { DependencyError } from '../errors';
import { describeRestError, restErrorInfo } from '../rest-error';
import type { SecretStore } from '../secrets/vault';

/**
 * Sends mail through Azure Communication Services with the real EmailClient. The access key, when
 * one is used, is read from Key Vault (never a setting); otherwise the managed identity signs in.
 */
export interface OutgoingEmail {
  to: { address: string; displayName?: string }[];
  subject: string;
  text: string;
  html: string;
  replyTo?: { address: string; displayName?: string }[];
}

/** What the service knows of a send operation; `not_found` means it never received it. */
export type SendStatus = 'not_found' | 'running' | 'succeeded' | 'failed';

/**
 * A send that did not end well. `sent` says whether the message may have gone out: `false` when the
 * request never reached the service (connection refused) or the service refused or failed it,
 * `'unknown'` when the answer was lost (reset, timeout, 5xx): ask `status(operationId)` later.
 */
export class EmailSendError extends DependencyError {
  constructor(
    message: string,
    readonly sent: false | 'unknown',
    options?: { cause?: unknown },
  ) {
    super('e-mail', message, options);
  }
}

export interface Mailer {
  /**
   * Sends one message. With `operationId` (a UUID) the send is idempotent at the service: the same
   * id again is the same operation and sends nothing more.
   */
  send(message: OutgoingEmail, options?: { operationId?: string }): Promise<{ operationId: string }>;
  /** Asks the service what became of an operation (GET /emails/operations/{id}). */
  status(operationId: string): Promise<SendStatus>;
  /** The endpoint answers at all (health check); it does not send anything. */
  probe(): Promise<void>;
}

export function createMailer(
  email: Config['email'],
  deps: { credential: TokenCredential; secrets: SecretStore; pollIntervalMs?: number },
): Mailer {
  let client: Promise<EmailClient> | undefined;
  const getClient = () => {
    client ??= (async () => {
      if (!email.accessKeySecretName) return new EmailClient(email.endpoint, deps.credential);
      const key = await deps.secrets.get(email.accessKeySecretName);
      if (!key)
        throw new DependencyError('e-mail', `the access key secret ${email.accessKeySecretName} is missing`);
      return new EmailClient(`endpoint=${email.endpoint}/;accesskey=${key}`);
    })();
    client.catch(() => (client = undefined));
    return client;
  };
  return {
    async send(message, options = {}) {
      const c = await getClient();
      const body: EmailMessage = {
        senderAddress: email.senderAddress,
        content: { subject: message.subject, plainText: message.text, html: message.html },
        recipients: { to: message.to },
        ...(message.replyTo ? { replyTo: message.replyTo } : {}),
      };
      let accepted = false;
      try {
        const poller = await c.beginSend(body, {
          updateIntervalInMs: deps.pollIntervalMs ?? 1000,
          ...(options.operationId ? { operationId: options.operationId } : {}),
        });
        accepted = true;
        const result = await poller.pollUntilDone();
        if (result.status !== 'Succeeded') {
          throw new EmailSendError(`send ended with status ${result.status}`, false);
        }
        return { operationId: result.id };
      } catch (e) {
        if (e instanceof DependencyError) throw e;
        const info = restErrorInfo(e);
        // The service refused the request (4xx), failed the operation, or was never reached at all.
        let notSent =
          (!accepted && info?.statusCode !== undefined && info.statusCode < 500) ||
          (info?.statusCode === undefined && (info?.code ?? codeOf(e)) === 'ECONNREFUSED');
        if (accepted && options.operationId) {
          // The request got through; what became of it is the service's to say (a failed operation
          // makes pollUntilDone throw, and so does a lost poll).
          const known = await this.status(options.operationId).catch(() => 'unknown' as const);
          if (known === 'succeeded') return { operationId: options.operationId };
          if (known === 'failed') notSent = true;
        }
        throw new EmailSendError(`sending failed: ${describeRestError(e)}`, notSent ? false : 'unknown', {
          cause: e,
        });
      }
    },
    async status(operationId) {
      const c = await getClient();
      try {
        // The public client has no status call; its generated REST client (a public property in JS) does.
        const generated = (c as unknown as { generatedClient: GeneratedEmailClient }).generatedClient;
        const result = await generated.email.getSendResult(operationId);
        switch (result.status) {
          case 'Succeeded':
            return 'succeeded';
          case 'Failed':
          case 'Canceled':
            return 'failed';
          default:
            return 'running';
        }
      } catch (e) {
        if (restErrorInfo(e)?.statusCode === 404) return 'not_found';
        throw new DependencyError('e-mail', `status check failed: ${describeRestError(e)}`, { cause: e });
      }
    },
    async probe() {
      try {
        const res = await fetch(`${email.endpoint}/emails/operations/health-probe?api-version=2023-03-31`, {
          signal: AbortSignal.timeout(5000),
        });
        if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
      } catch (e) {
        throw new DependencyError('e-mail', e instanceof Error ? e.message : 'unreachable', { cause: e });
      }
    },
  };
}

interface GeneratedEmailClient {
  email: { getSendResult(operationId: string): Promise<{ id: string; status: string }> };
}

function codeOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
