import type { Client } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';
import { graphCall } from './client';

/**
 * What the consent check asks Graph about the signed-in admin and their organization. Each answer
 * is checked against a schema: a value we base a decision on must be there and be what we think.
 */
const meSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string(),
  userType: z.string().nullish(),
  accountEnabled: z.boolean().nullish(),
  displayName: z.string().nullish(),
  mail: z.string().nullish(),
});
export type GraphUser = z.infer<typeof meSchema>;

const organizationSchema = z.object({
  id: z.string(),
  displayName: z.string().nullish(),
  verifiedDomains: z
    .array(z.object({ name: z.string(), isDefault: z.boolean().nullish(), isInitial: z.boolean().nullish() }))
    .default([]),
});
export type GraphOrganization = z.infer<typeof organizationSchema>;

const rolePageSchema = z.object({
  value: z.array(
    z.object({ id: z.string(), displayName: z.string().nullish(), roleTemplateId: z.string().nullish() }),
  ),
  '@odata.nextLink': z.string().optional(),
});

export async function getMe(client: Client): Promise<GraphUser> {
  return meSchema.parse(
    await graphCall('reading the signed-in user', () =>
      client
        .api('/me')
        .select(['id', 'userPrincipalName', 'userType', 'accountEnabled', 'displayName', 'mail'])
        .get(),
    ),
  );
}

export async function getOrganization(client: Client): Promise<GraphOrganization> {
  const page = z
    .object({ value: z.array(organizationSchema) })
    .parse(
      await graphCall('reading the organization', () =>
        client.api('/organization').select(['id', 'displayName', 'verifiedDomains']).get(),
      ),
    );
  const org = page.value[0];
  if (!org) throw new Error('Microsoft Graph returned no organization for the signed-in tenant.');
  return org;
}

/**
 * Template ids of the directory roles the signed-in user holds, directly or through a group. Asked
 * of Graph because the `wids` claim only appears when the app manifest asks for it.
 */
export async function getMyDirectoryRoleTemplateIds(client: Client, maxPages = 10): Promise<string[]> {
  const ids = new Set<string>();
  let next: string | undefined = '/me/transitiveMemberOf/microsoft.graph.directoryRole';
  for (let page = 0; next && page < maxPages; page++) {
    const path: string = next;
    const body = rolePageSchema.parse(
      await graphCall('reading the signed-in user’s roles', () =>
        page === 0
          ? client.api(path).select(['id', 'displayName', 'roleTemplateId']).get()
          : client.api(path).get(),
      ),
    );
    for (const role of body.value) if (role.roleTemplateId) ids.add(role.roleTemplateId.toLowerCase());
    next = body['@odata.nextLink'];
  }
  return [...ids];
}
