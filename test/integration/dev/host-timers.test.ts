import type { Timer } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { startHost, type Host, type HostOptions, type LogLine } from '../../../dev/host';
import { timer, type Trigger } from '../../../shared/triggers';
import { sleep, waitFor } from '../../helpers/wait';

const keys = { default: 'function-key-1', master: 'master-key-1' };
const neverRan = '0001-01-01T00:00:00.000Z';

describe('local Functions host: timers', () => {
  let host: Host | undefined;
  let lines: LogLine[] = [];

  const start = async (triggers: Trigger[], extra: Partial<HostOptions> = {}): Promise<Host> => {
    lines = [];
    host = await startHost({
      triggers,
      port: 0,
      hostJson: { extensions: { http: { routePrefix: '' } } },
      functionKeys: keys,
      storageConnectionString: 'UseDevelopmentStorage=true', // no queue triggers: never contacted
      log: (line) => lines.push(line),
      ...extra,
    });
    return host;
  };

  afterEach(async () => {
    await host?.stop();
    host = undefined;
  });

  it('fires an every-second schedule with a proper Timer object', async () => {
    const timers: Timer[] = [];
    await start([
      timer({ name: 'tick', schedule: '*/1 * * * * *', handler: async (t) => void timers.push(t) }),
    ]);
    await waitFor(() => timers.length >= 2, 10_000);
    const [first, second] = timers as [Timer, Timer];
    expect(first.isPastDue).toBe(false);
    expect(first.scheduleStatus.last).toBe(neverRan);
    // Each run is reported on a whole second, and `next` is the following second.
    const firstDue = Date.parse(second.scheduleStatus.last);
    expect(firstDue % 1000).toBe(0);
    expect(Date.parse(first.scheduleStatus.next)).toBe(firstDue + 1000);
    const secondDue = Date.parse(second.scheduleStatus.next) - 1000;
    expect(secondDue % 1000).toBe(0);
    expect(secondDue).toBeGreaterThan(firstDue);
    expect(Number.isNaN(Date.parse(second.scheduleStatus.lastUpdated))).toBe(false);
    expect(second.schedule).toEqual({ adjustForDST: false });
    expect(lines.filter((l) => l.message === "Executed 'tick' (Succeeded)").length).toBeGreaterThanOrEqual(2);
  });

  it('never overlaps runs of one timer and marks the run after a skipped one as past due', async () => {
    const runs: Timer[] = [];
    let running = 0;
    let maxRunning = 0;
    await start([
      timer({
        name: 'slow',
        schedule: '*/1 * * * * *',
        handler: async (t) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          runs.push(t);
          await sleep(runs.length === 1 ? 2200 : 0);
          running--;
        },
      }),
    ]);
    await waitFor(() => runs.length >= 2, 15_000);
    expect(maxRunning).toBe(1);
    expect(runs[0]?.isPastDue).toBe(false);
    expect(runs[1]?.isPastDue).toBe(true);
    expect(lines.some((l) => l.level === 'warning' && l.function === 'slow')).toBe(true);
  });

  it('rejects an invalid NCRONTAB schedule, naming the trigger', async () => {
    const handler = async (): Promise<void> => undefined;
    await expect(start([timer({ name: 'fiveFields', schedule: '*/5 * * * *', handler })])).rejects.toThrow(
      /Timer trigger "fiveFields".*six NCRONTAB fields/,
    );
    await expect(start([timer({ name: 'badSecond', schedule: '61 * * * * *', handler })])).rejects.toThrow(
      /Timer trigger "badSecond": invalid NCRONTAB schedule/,
    );
    await expect(start([timer({ name: 'garbage', schedule: 'a b c d e f', handler })])).rejects.toThrow(
      /Timer trigger "garbage"/,
    );
  });

  it('runs a timer on demand with runTimer, and does not retry a failed run', async () => {
    const calls: Timer[] = [];
    let fail = false;
    const h = await start(
      [
        timer({
          name: 'nightly',
          schedule: '0 0 3 * * *',
          handler: async (t) => {
            calls.push(t);
            if (fail) throw new Error('nightly failed');
          },
        }),
      ],
      { timers: { enabled: false } },
    );
    await h.runTimer('nightly');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.isPastDue).toBe(false);
    expect(calls[0]?.scheduleStatus.next).toMatch(/T03:00:00\.000Z$/);

    fail = true;
    await expect(h.runTimer('nightly')).rejects.toThrow('nightly failed');
    await sleep(300);
    expect(calls).toHaveLength(2);
    expect(lines.find((l) => l.level === 'error' && l.function === 'nightly')?.error).toContain(
      'nightly failed',
    );
    await expect(h.runTimer('nope')).rejects.toThrow(/No timer trigger named "nope"/);
  });

  it('runs a timer through POST /admin/functions/{name} with the master key only', async () => {
    let calls = 0;
    const h = await start(
      [timer({ name: 'Report', schedule: '0 0 3 * * *', handler: async () => void calls++ })],
      {
        timers: { enabled: false },
      },
    );
    const post = (path: string, key?: string) =>
      fetch(`${h.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { 'x-functions-key': key } : {}) },
        body: JSON.stringify({ input: '' }),
      });
    expect((await post('/admin/functions/Report')).status).toBe(401);
    expect((await post('/admin/functions/Report', keys.default)).status).toBe(401);
    expect((await post('/admin/functions/Missing', keys.master)).status).toBe(404);
    expect(calls).toBe(0);
    const accepted = await post('/admin/functions/report', keys.master);
    expect(accepted.status).toBe(202);
    await waitFor(() => calls === 1);
    expect((await post(`/admin/functions/Report?code=${keys.master}`)).status).toBe(202);
    await waitFor(() => calls === 2);
  });
});
