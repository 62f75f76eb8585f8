import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import selfsigned from 'selfsigned';

/**
 * The local stack speaks https like the real services do: MSAL refuses an http authority and the
 * Graph client sends no token over http. One development CA signs a certificate for the loopback
 * names; processes trust it through NODE_EXTRA_CA_CERTS, which Node reads only at start, so the
 * launchers (npm start, npm test) create it before they start Node with that variable set.
 */
export interface DevCertificates {
  caFile: string;
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export const defaultCertDir = path.resolve(__dirname, '..', '..', '.local', 'certs');

export async function ensureDevCertificates(dir = defaultCertDir): Promise<DevCertificates> {
  const caFile = path.join(dir, 'ca.pem');
  const certFile = path.join(dir, 'localhost.pem');
  const keyFile = path.join(dir, 'localhost-key.pem');
  if (!existsSync(caFile) || !existsSync(certFile) || !existsSync(keyFile) || expiresSoon(certFile)) {
    mkdirSync(dir, { recursive: true });
    const notBeforeDate = new Date(Date.now() - 24 * 3600 * 1000);
    const notAfterDate = new Date(Date.now() + 825 * 24 * 3600 * 1000);
    const ca = await selfsigned.generate(
      [{ name: 'commonName', value: 'Switchboard local development CA' }],
      {
        keySize: 2048,
        algorithm: 'sha256',
        notBeforeDate,
        notAfterDate,
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ],
      },
    );
    const leaf = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    });
    writeFileSync(caFile, ca.cert);
    writeFileSync(certFile, leaf.cert);
    writeFileSync(keyFile, leaf.private, { mode: 0o600 });
  }
  return {
    caFile,
    certFile,
    keyFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  };
}

function expiresSoon(certFile: string): boolean {
  const cert = new X509Certificate(readFileSync(certFile));
  return new Date(cert.validTo).getTime() < Date.now() + 7 * 24 * 3600 * 1000;
}

if (require.main === module) {
  ensureDevCertificates().then(
    (c) => console.log(c.caFile),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
