import { startAzurite } from '../../../dev/azurite';
import { ensureDevCertificates } from '../../../dev/tls/certs';

/**
 * `npm start` in miniature for azurite-persistence.test.ts: Azurite through the project's launcher,
 * persisted to the directory given as the argument, and stopped on SIGINT or SIGTERM the way
 * dev/start.ts stops the stack. Prints the connection string as one JSON line once Azurite listens.
 */
async function main(): Promise<void> {
  const location = process.argv[2];
  if (!location) throw new Error('usage: azurite-launcher.ts <data directory>');
  const certs = await ensureDevCertificates();
  const azurite = await startAzurite({
    tablePort: 0,
    queuePort: 0,
    location,
    tls: { certFile: certs.certFile, keyFile: certs.keyFile },
  });
  const shutdown = (): void => {
    void azurite.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  console.log(JSON.stringify({ connectionString: azurite.connectionString }));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
