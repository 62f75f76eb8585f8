import { EmailClient, type EmailMessage } from '@azure/communication-email';
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { DependencyError } from '../errors';
import { describeRestError } from '../rest-error';
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

export interface Mailer {
  send(message: OutgoingEmail): Promise<{ operationId: string }>;
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
    async send(message) {
      const c = await getClient();
      const body: EmailMessage = {
        senderAddress: email.senderAddress,
        content: { subject: message.subject, plainText: message.text, html: message.html },
        recipients: { to: message.to },
        ...(message.replyTo ? { replyTo: message.replyTo } : {}),
      };
      try {
        const poller = await c.beginSend(body, { updateIntervalInMs: deps.pollIntervalMs ?? 1000 });
        const result = await poller.pollUntilDone();
        if (result.status !== 'Succeeded') {
          throw new DependencyError('e-mail', `send ended with status ${result.status}`);
        }
        return { operationId: result.id };
      } catch (e) {
        if (e instanceof DependencyError) throw e;
        throw new DependencyError('e-mail', `sending failed: ${describeRestError(e)}`, { cause: e });
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
