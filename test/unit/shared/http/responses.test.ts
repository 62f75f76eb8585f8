import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { DependencyError, ValidationError } from '../../../../shared/errors';
import { errorResponse } from '../../../../shared/http/responses';

function context(): { ctx: InvocationContext; lines: string[] } {
  const lines: string[] = [];
  const ctx = new InvocationContext({
    functionName: 'test',
    invocationId: 'i-1',
    logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
  });
  return { ctx, lines };
}

describe('errorResponse', () => {
  it('answers a domain error with its status and words, and logs nothing', () => {
    const { ctx, lines } = context();
    const res = errorResponse(new ValidationError('Bad.', [{ field: 'id', message: 'is required' }]), ctx);
    expect(res.status).toBe(400);
    expect(res.jsonBody).toEqual({
      error: {
        code: 'validation_failed',
        message: 'Bad.',
        fields: [{ field: 'id', message: 'is required' }],
      },
    });
    expect(lines).toEqual([]);
  });

  it('names a dependency that is down, with an error id that is in the log', () => {
    const { ctx, lines } = context();
    const res = errorResponse(new DependencyError('key vault', 'reading secret x: HTTP 503'), ctx);
    expect(res.status).toBe(503);
    const body = res.jsonBody as { error: { code: string; dependency: string; errorId: string } };
    expect(body.error).toMatchObject({ code: 'dependency_unavailable', dependency: 'key vault' });
    expect(lines.some((l) => l.includes(body.error.errorId) && l.includes('dependency_unavailable'))).toBe(
      true,
    );
  });

  it('hides an unexpected error behind an id and keeps its text in the log only', () => {
    const { ctx, lines } = context();
    const res = errorResponse(new Error('customers table: row 7 has no name'), ctx);
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.jsonBody)).not.toContain('row 7');
    const { errorId } = (res.jsonBody as { error: { errorId: string } }).error;
    expect(lines.find((l) => l.includes(errorId))).toContain('row 7 has no name');
  });
});
