import { DependencyError } from '../errors';

/**
 * The AudioCodes Mediant REST API (firmware 7.4) as Switchboard uses it: HTTP Basic with the
 * device's admin user (password from Key Vault, never logged), `GET /api/v1/status`,
 * `GET /api/v1/files/cliScript` (the running configuration) and
 * `PUT /api/v1/files/cliScript/incremental` (multipart, field `file`; applies without a reset).
 * The full-script `PUT` is never used: it replaces everything and resets the device.
 */
export interface SbcEndpoint {
  baseUrl: string;
  username: string;
  password: string;
  timeoutMs: number;
}

export interface SbcStatus {
  reachable: boolean;
  operationalState?: string;
  versionID?: string;
  productType?: string;
  saveNeeded?: boolean;
  systemUpTime?: number;
  error?: string;
}

/** What became of an upload, as the device answered it. */
export type PushAnswer =
  | { kind: 'applied'; output: string }
  | { kind: 'refused'; output: string; description: string }
  | { kind: 'busy'; description: string }
  /** No answer: refused connection, reset, timeout. The script may or may not have been applied. */
  | { kind: 'unreachable'; error: string }
  | { kind: 'failed'; status: number; description: string };

export interface SbcClient {
  status(): Promise<SbcStatus>;
  runningConfig(): Promise<string>;
  pushIncremental(script: string): Promise<PushAnswer>;
}

export function createSbcClient(endpoint: SbcEndpoint): SbcClient {
  const auth = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')}`;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${endpoint.baseUrl}${path}`, {
      ...init,
      headers: { Authorization: auth, ...(init.headers as Record<string, string>) },
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
  const describe = (e: unknown) =>
    e instanceof Error ? `${e.name}: ${(e.cause as Error | undefined)?.message ?? e.message}` : String(e);
  return {
    async status() {
      try {
        const res = await call('/api/v1/status');
        if (!res.ok) return { reachable: true, error: `status ${res.status}` };
        const s = (await res.json()) as Record<string, unknown>;
        return {
          reachable: true,
          ...(typeof s.operationalState === 'string' ? { operationalState: s.operationalState } : {}),
          ...(typeof s.versionID === 'string' ? { versionID: s.versionID } : {}),
          ...(typeof s.productType === 'string' ? { productType: s.productType } : {}),
          ...(typeof s.saveNeeded === 'boolean' ? { saveNeeded: s.saveNeeded } : {}),
          ...(typeof s.systemUpTime === 'number' ? { systemUpTime: s.systemUpTime } : {}),
        };
      } catch (e) {
        return { reachable: false, error: describe(e) };
      }
    },
    async runningConfig() {
      let res: Response;
      try {
        res = await call('/api/v1/files/cliScript');
      } catch (e) {
        throw new DependencyError('sbc', `reading the running configuration: ${describe(e)}`);
      }
      if (!res.ok)
        throw new DependencyError('sbc', `reading the running configuration: status ${res.status}`);
      return res.text();
    },
    async pushIncremental(script) {
      const form = new FormData();
      form.append('file', new Blob([script], { type: 'application/octet-stream' }), 'cli.txt');
      let res: Response;
      try {
        res = await call('/api/v1/files/cliScript/incremental', { method: 'PUT', body: form });
      } catch (e) {
        return { kind: 'unreachable', error: describe(e) };
      }
      const body = (await res.json().catch(() => ({}))) as {
        status?: unknown;
        output?: unknown;
        description?: unknown;
      };
      const output = typeof body.output === 'string' ? body.output : '';
      const description = typeof body.description === 'string' ? body.description : `status ${res.status}`;
      if (res.status === 200 && (body.status === undefined || body.status === 'success'))
        return { kind: 'applied', output };
      if (res.status === 200 || res.status === 400) return { kind: 'refused', output, description };
      if (res.status === 409) return { kind: 'busy', description };
      if (res.status >= 500) return { kind: 'unreachable', error: description };
      return { kind: 'failed', status: res.status, description };
    },
  };
}
