import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The vault's state: every version of every secret, and the soft-deleted ones. Names are
 * case-insensitive in Key Vault, so entries are keyed by the lower-cased name and keep the casing
 * of their first creation, as the service does.
 */
export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  /** Unix seconds, as Key Vault's attributes carry them. */
  exp?: number;
  nbf?: number;
  created: number;
  updated: number;
}

export interface SecretEntry {
  name: string;
  /** Oldest first; the last one is the current version. */
  versions: SecretVersion[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

export type SecretProperties = Pick<SecretVersion, 'contentType' | 'tags' | 'enabled' | 'exp' | 'nbf'>;

export class SecretStore {
  private readonly entries = new Map<string, SecretEntry>();

  constructor(
    private readonly recoverableDays: number,
    private readonly dataFile?: string,
  ) {
    if (dataFile) {
      try {
        const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as { secrets?: SecretEntry[] };
        for (const entry of saved.secrets ?? []) this.entries.set(entry.name.toLowerCase(), entry);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }

  /** A live or soft-deleted entry; entries past their purge date are dropped first, as the service would have. */
  find(name: string): SecretEntry | undefined {
    const key = name.toLowerCase();
    const entry = this.entries.get(key);
    if (entry?.deleted && entry.deleted.scheduledPurgeDate <= now()) {
      this.entries.delete(key);
      this.save();
      return undefined;
    }
    return entry;
  }

  live(): SecretEntry[] {
    return this.all().filter((e) => !e.deleted);
  }

  deleted(): SecretEntry[] {
    return this.all().filter((e) => e.deleted);
  }

  /** Adds a version (creating the entry); the caller has checked that the name is not soft-deleted. */
  set(name: string, value: string, props: SecretProperties): { entry: SecretEntry; version: SecretVersion } {
    const t = now();
    const version: SecretVersion = {
      version: randomBytes(16).toString('hex'),
      value,
      ...props,
      created: t,
      updated: t,
    };
    const entry = this.find(name) ?? { name, versions: [] };
    entry.versions.push(version);
    this.entries.set(name.toLowerCase(), entry);
    this.save();
    return { entry, version };
  }

  update(version: SecretVersion, props: Partial<SecretProperties>): void {
    for (const [k, v] of Object.entries(props)) {
      if (v !== undefined) (version as unknown as Record<string, unknown>)[k] = v;
    }
    version.updated = now();
    this.save();
  }

  softDelete(entry: SecretEntry): void {
    const t = now();
    entry.deleted = { deletedDate: t, scheduledPurgeDate: t + this.recoverableDays * 86400 };
    this.save();
  }

  recover(entry: SecretEntry): void {
    delete entry.deleted;
    this.save();
  }

  purge(entry: SecretEntry): void {
    this.entries.delete(entry.name.toLowerCase());
    this.save();
  }

  private all(): SecretEntry[] {
    for (const key of [...this.entries.keys()]) this.find(key);
    return [...this.entries.values()].sort((a, b) =>
      a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
    );
  }

  /** Written whole after each change (small files, a local tool); via rename so a crash never leaves half a file. */
  private save(): void {
    if (!this.dataFile) return;
    mkdirSync(path.dirname(this.dataFile), { recursive: true });
    const tmp = `${this.dataFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ secrets: [...this.entries.values()] }), { mode: 0o600 });
    renameSync(tmp, this.dataFile);
  }
}

export function now(): number {
  return Math.floor(Date.now() / 1000);
}
