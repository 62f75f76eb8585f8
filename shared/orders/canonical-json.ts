import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted and no whitespace, so "the same event again" means the same content,
 * not the same bytes: an ordering system that re-serializes a retry (other key order, other spacing)
 * is still sending the same event.
 */
export function canonicalJson(value: unknown): string {
  // Iterative, so no input (however deep) can overflow the stack: a work list of values to render
  // and literal text to emit, in order.
  const out: string[] = [];
  const work: ({ text: string } | { value: unknown })[] = [{ value }];
  while (work.length > 0) {
    const item = work.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    const next: ({ text: string } | { value: unknown })[] = [];
    if (Array.isArray(v)) {
      next.push({ text: '[' });
      v.forEach((x, i) => next.push(...(i > 0 ? [{ text: ',' }] : []), { value: x }));
      next.push({ text: ']' });
    } else {
      next.push({ text: '{' });
      Object.keys(v)
        .sort()
        .forEach((k, i) =>
          next.push(
            { text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` },
            { value: (v as Record<string, unknown>)[k] },
          ),
        );
      next.push({ text: '}' });
    }
    for (let i = next.length - 1; i >= 0; i--) work.push(next[i]!);
  }
  return out.join('');
}

export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
