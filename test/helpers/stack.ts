import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig } from '../../shared/config';
import { createServices, type Services } from '../../shared/services';

/** A storage name prefix of its own, so test files sharing one Azurite never see each other's rows. */
export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/** App settings pointing at the shared test stack, isolated by a fresh storage prefix. */
export function testSettings(overrides: Record<string, string> = {}): Record<string, string> {
  return { ...inject('stack').settings, STORAGE_NAME_PREFIX: uniquePrefix(), ...overrides };
}

/**
 * The real services (real SDK clients) against the test stack. The managed identity credential
 * reads its endpoint from the process environment, as it does in Azure.
 */
export function testServices(overrides: Record<string, string> = {}): Services {
  const settings = testSettings(overrides);
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  return createServices(loadConfig(settings));
}
