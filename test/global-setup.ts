import type { TestProject } from 'vitest/node';
import { startLocalStack, type LocalStack } from '../dev/stack';

/**
 * Starts Azurite and every simulator once, on free ports, for all integration tests; each test
 * file isolates itself with its own storage name prefix (see test/helpers/stack.ts).
 */
let stack: LocalStack | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  stack = await startLocalStack({ ports: 'free', dataDir: undefined, quiet: true });
  project.provide('stack', { settings: stack.settings, outboxDir: stack.outboxDir, urls: stack.urls });
  return async () => {
    await stack?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: { settings: Record<string, string>; outboxDir: string; urls: Record<string, string> };
  }
}
