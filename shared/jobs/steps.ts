import { z } from 'zod';
import type { Clock } from '../clock';

/**
 * Per-step markers on a work item: each step's completion (and its small result) is saved on the
 * item's row, so a run killed half-way and started again skips what was done and continues. A step
 * must still be safe to repeat: the window between doing it and saving it cannot be closed.
 */
export const stepsSchema = z.record(z.string(), z.object({ at: z.string(), result: z.unknown().optional() }));
export type Steps = z.infer<typeof stepsSchema>;

export interface StepRunner {
  /** Runs `fn` once per item: a step already marked returns its saved result. */
  step<R>(name: string, fn: () => Promise<R>): Promise<R>;
  /** Whether an earlier run completed the step. */
  has(name: string): boolean;
}

export function stepRunner<T extends { steps: Steps; updatedAt: string }>(options: {
  /** The item as last read or saved. */
  item: T;
  /** Saves a change to the item with its ETag (retrying a lost race); the item after, if still there. */
  save: (change: (current: T) => T) => Promise<T | undefined>;
  now: Clock;
  /** Called with the item after each save, for the caller to keep its copy current. */
  saved?: (item: T) => void;
}): StepRunner {
  let item = options.item;
  return {
    has: (name) => item.steps[name] !== undefined,
    async step<R>(name: string, fn: () => Promise<R>): Promise<R> {
      const done = item.steps[name];
      if (done) return done.result as R;
      const result = await fn();
      const at = options.now().toISOString();
      const after = await options.save((current) => ({
        ...current,
        steps: { ...current.steps, [name]: { at, result } },
        updatedAt: at,
      }));
      if (after) {
        item = after;
        options.saved?.(after);
      }
      return result;
    },
  };
}
