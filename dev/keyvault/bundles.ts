import type { SecretEntry, SecretVersion } from './store';

/**
 * The JSON shapes Key Vault answers with (SecretBundle, SecretItem, DeletedSecretBundle,
 * DeletedSecretItem), key for key as the service's recorded responses show them. Values are only
 * ever in a SecretBundle for get/set; deletes, recoveries and listings carry none.
 */
export class Bundles {
  constructor(
    private readonly vaultUrl: string,
    private readonly recoverableDays: number,
  ) {}

  secret(entry: SecretEntry, v: SecretVersion, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      id: this.secretId(entry, v),
      attributes: this.attributes(v),
      ...(v.tags ? { tags: v.tags } : {}),
    };
  }

  /** A list item: the secret's id has no version when listing secrets, and has one when listing versions. */
  item(entry: SecretEntry, v: SecretVersion, withVersion: boolean): Record<string, unknown> {
    return {
      id: withVersion ? this.secretId(entry, v) : `${this.vaultUrl}/secrets/${entry.name}`,
      attributes: this.attributes(v),
      ...(v.tags ? { tags: v.tags } : {}),
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    };
  }

  deleted(entry: SecretEntry, asListItem: boolean): Record<string, unknown> {
    const current = latest(entry);
    return {
      recoveryId: `${this.vaultUrl}/deletedsecrets/${entry.name}`,
      deletedDate: entry.deleted?.deletedDate,
      scheduledPurgeDate: entry.deleted?.scheduledPurgeDate,
      ...(current.contentType !== undefined ? { contentType: current.contentType } : {}),
      id: asListItem ? `${this.vaultUrl}/secrets/${entry.name}` : this.secretId(entry, current),
      attributes: this.attributes(current),
      ...(current.tags ? { tags: current.tags } : {}),
    };
  }

  private secretId(entry: SecretEntry, v: SecretVersion): string {
    return `${this.vaultUrl}/secrets/${entry.name}/${v.version}`;
  }

  private attributes(v: SecretVersion): Record<string, unknown> {
    return {
      enabled: v.enabled,
      ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
      ...(v.exp !== undefined ? { exp: v.exp } : {}),
      created: v.created,
      updated: v.updated,
      // A vault with the default 90-day retention reports plain "Recoverable+Purgeable"; a shorter one "Customized…".
      recoveryLevel:
        this.recoverableDays === 90 ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable',
      recoverableDays: this.recoverableDays,
    };
  }
}

export function latest(entry: SecretEntry): SecretVersion {
  const v = entry.versions[entry.versions.length - 1];
  if (!v) throw new Error(`secret ${entry.name} has no versions`);
  return v;
}
