import { describe, expect, it } from 'vitest';
import { byPrecedence, compileRoute, matchRoute, splitPath } from '../../../../dev/host/routing';

const match = (template: string, path: string) =>
  matchRoute(compileRoute(template, null), splitPath(path) ?? []);

describe('route templates', () => {
  it('matches literals without regard to case and rejects extra or missing segments', () => {
    expect(match('api/Health', '/API/health')).toEqual({});
    expect(match('api/health', '/api/health/extra')).toBeUndefined();
    expect(match('api/health', '/api')).toBeUndefined();
    expect(match('', '/')).toEqual({});
  });

  it('reads parameters, optional parameters, defaults and catch-alls', () => {
    expect(match('c/{id}', '/c/a%2Fb')).toEqual({ id: 'a/b' });
    expect(match('c/{id?}', '/c')).toEqual({});
    expect(match('c/{id=7}', '/c')).toEqual({ id: '7' });
    expect(match('c/{id:int=7}', '/c/9')).toEqual({ id: '9' });
    expect(match('f/{*rest}', '/f')).toEqual({});
    expect(match('f/{**rest}', '/f/a/b')).toEqual({ rest: 'a/b' });
    expect(match('f/{name}.{ext}', '/f/report.final.pdf')).toEqual({ name: 'report', ext: 'final.pdf' });
  });

  it('checks constraints', () => {
    expect(match('n/{n:int}', '/n/-12')).toEqual({ n: '-12' });
    expect(match('n/{n:int}', '/n/1.5')).toBeUndefined();
    expect(match('n/{n:int:min(10)}', '/n/9')).toBeUndefined();
    expect(match('n/{n:range(1,3)}', '/n/3')).toEqual({ n: '3' });
    expect(match('n/{b:bool}', '/n/TRUE')).toEqual({ b: 'TRUE' });
    expect(match('n/{s:alpha:length(2,3)}', '/n/abcd')).toBeUndefined();
    expect(match('n/{g:guid}', '/n/{0F8FAD5B-D9CB-469F-A165-70867728950E}')).toBeDefined();
    expect(match('n/{g:guid}', '/n/0f8fad5bd9cb469fa16570867728950e')).toBeDefined();
    expect(match('n/{g:guid}', '/n/0f8fad5b')).toBeUndefined();
    // Braces inside a template are doubled, as in ASP.NET.
    expect(match('n/{c:regex(^[a-z]{{2}}-\\d+$)}', '/n/ab-12')).toEqual({ c: 'ab-12' });
    expect(match('n/{c:regex(^[a-z]{{2}}-\\d+$)}', '/n/abc-12')).toBeUndefined();
    expect(match('lit{{x}}', '/lit{x}')).toEqual({});
    expect(match('n/{c:regex(^ab-\\d+$)}', '/n/AB-12')).toEqual({ c: 'AB-12' });
  });

  it('rejects templates it cannot read', () => {
    expect(() => compileRoute('a/{*rest}/b', null)).toThrow(/catch-all/);
    expect(() => compileRoute('a/{x?}/b', null)).toThrow(/optional/);
    expect(() => compileRoute('a/{x:frobnicate}', null)).toThrow(/unknown route constraint "frobnicate"/);
    expect(() => compileRoute('a/{1x}', null)).toThrow(/parameter name/);
    expect(() => compileRoute('a//b', null)).toThrow(/empty segment/);
    expect(() => compileRoute('a/{x', null)).toThrow(/unbalanced brace/);
    expect(() => compileRoute('a/{x}{y}', null)).toThrow(/nothing between/);
  });

  it('orders literal before constrained before plain parameter before catch-all', () => {
    const routes = ['a/{*rest}', 'a/{id}', 'a/{id:int}', 'a/{name}.txt', 'a/fixed', 'a/fixed/{x}'].map((t) =>
      compileRoute(t, t),
    );
    expect(routes.sort(byPrecedence).map((r) => r.value)).toEqual([
      'a/fixed',
      'a/fixed/{x}',
      'a/{name}.txt',
      'a/{id:int}',
      'a/{id}',
      'a/{*rest}',
    ]);
  });

  it('refuses a path with broken percent-encoding', () => {
    expect(splitPath('/a/%E0%A4%A')).toBeUndefined();
  });
});
