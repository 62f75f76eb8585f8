import { describe, expect, it } from 'vitest';
import {
  createGraphWriter,
  UntrustedLocationError,
} from '../../../../shared/replication/changes/graph-writes';

describe('Graph writer', () => {
  it('follows an absolute URL only under the configured Graph root; the token never goes elsewhere', async () => {
    const fetched: string[] = [];
    const writer = createGraphWriter({
      graphBaseUrl: 'https://graph.microsoft.com/',
      fetch: async (input) => {
        fetched.push(String(input));
        return new Response('{"value":{"status":"running"}}', { status: 200 });
      },
    });
    const op = "https://graph.microsoft.com/v1.0/admin/teams/telephoneNumberManagement/operations('x')";
    expect(writer.trusts(op)).toBe(true);
    expect((await writer.send('token', 'GET', op)).status).toBe(200);
    for (const elsewhere of [
      'https://graph.microsoft.com.evil.example/v1.0/x',
      'https://evil.example/v1.0/x',
      'http://graph.microsoft.com/v1.0/x',
      'https://graph.microsoft.com/beta/x',
    ]) {
      expect(writer.trusts(elsewhere), elsewhere).toBe(false);
      await expect(writer.send('token', 'GET', elsewhere)).rejects.toBeInstanceOf(UntrustedLocationError);
    }
    expect(fetched).toEqual([op]);
  });
});
