/** OData query helpers shared by the Graph routes. */

export type SelectResult = { properties?: string[] } | { error: string };

/** Parses $select against the properties a type has; Graph refuses unknown names with 400. */
export function parseSelect(
  query: URLSearchParams,
  known: readonly string[],
  typeName: string,
): SelectResult {
  const raw = query.get('$select');
  if (raw === null || raw.trim() === '') return {};
  const properties: string[] = [];
  for (const name of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const canonical = known.find((k) => k.toLowerCase() === name.toLowerCase());
    if (!canonical) return { error: `Could not find a property named '${name}' on type '${typeName}'.` };
    if (!properties.includes(canonical)) properties.push(canonical);
  }
  return { properties };
}

/** Picks properties in the requested order (Graph always returns id with $select on directory objects). */
export function project(
  entity: Record<string, unknown>,
  properties: string[] | undefined,
  defaults: readonly string[],
) {
  const names = properties ?? defaults;
  return Object.fromEntries(names.map((n) => [n, entity[n] ?? null]));
}

export function entityContext(base: string, entitySet: string, properties?: string[]): string {
  return `${base}/$metadata#${entitySet}${properties ? `(${properties.join(',')})` : ''}/$entity`;
}

export function collectionContext(base: string, entitySet: string, properties?: string[]): string {
  return `${base}/$metadata#${entitySet}${properties ? `(${properties.join(',')})` : ''}`;
}
