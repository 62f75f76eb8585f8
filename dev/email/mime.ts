/**
 * The few MIME encodings an outbox file needs, both ways: RFC 2045 quoted-printable, RFC 2047
 * encoded words for non-ASCII header text, RFC 5322 address formatting and header folding.
 * Lines end in CRLF, as RFC 5322 requires.
 */
export const CRLF = '\r\n';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const SPECIALS = /[()<>[\]:;@\\,."]/;

/** Header text as is when it is printable ASCII, else UTF-8 "B" encoded words, one per folded line. */
export function encodeWords(text: string): string {
  if (PRINTABLE_ASCII.test(text)) return text;
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    // 39 bytes make 52 base64 characters: with "=?UTF-8?B?…?=" and a header name the line stays within 76.
    if (Buffer.byteLength(chunk + ch) > 39) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join(`${CRLF} `);
}

/** Decodes RFC 2047 encoded words ("B" and "Q"); whitespace between adjacent words is dropped, as the RFC says. */
export function decodeWords(text: string): string {
  return text
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?[^?]+\?[bBqQ]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_m, charset: string, enc: string, data: string) => {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(data, 'base64')
          : decodeQuotedPrintable(data.replace(/_/g, ' '), false);
      return new TextDecoder(charset.toLowerCase()).decode(bytes);
    });
}

export function formatAddress(a: { address: string; displayName?: string }): string {
  if (!a.displayName) return a.address;
  const name = PRINTABLE_ASCII.test(a.displayName)
    ? SPECIALS.test(a.displayName)
      ? `"${a.displayName.replace(/(["\\])/g, '\\$1')}"`
      : a.displayName
    : encodeWords(a.displayName);
  return `${name} <${a.address}>`;
}

/** Addresses out of an address-list header: the part in angle brackets, or the bare address. */
export function parseAddresses(value: string | undefined): string[] {
  if (!value) return [];
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && quoted) {
      current += ch + (value[++i] ?? '');
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle = true;
    else if (!quoted && ch === '>') angle = false;
    if (ch === ',' && !quoted && !angle) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return (
    parts
      .map((p) => p.trim())
      .filter(Boolean)
      // The address is the angle-bracketed part that ends the entry; a quoted display name may hold <…> too.
      .map((p) => /<([^<>]+)>\s*$/.exec(p)?.[1] ?? p)
  );
}

/** `Name: item, item, …`, folded between items so that lines stay within 78 characters where that can be helped. */
export function foldedHeader(name: string, items: string[]): string {
  const lines = [`${name}:`];
  items.forEach((item, i) => {
    const piece = ` ${item}${i < items.length - 1 ? ',' : ''}`;
    const line = lines.pop() ?? '';
    if (i > 0 && line.length + piece.length > 78) lines.push(line, piece);
    else lines.push(line + piece);
  });
  return lines.join(CRLF);
}

/** RFC 2045 quoted-printable of the UTF-8 text; line breaks become CRLF hard breaks, long lines get soft breaks. */
export function quotedPrintable(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, '\n')
    .split('\n')
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const tokens: string[] = [];
      bytes.forEach((b, i) => {
        const last = i === bytes.length - 1;
        const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        tokens.push(literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
      });
      const out: string[] = [];
      let current = '';
      for (const token of tokens) {
        if (current.length + token.length > 75) {
          out.push(`${current}=`);
          current = '';
        }
        current += token;
      }
      out.push(current);
      return out.join(CRLF);
    })
    .join(CRLF);
}

/** Quoted-printable back to bytes; `softBreaks` false for the "Q" encoding of headers. */
export function decodeQuotedPrintable(text: string, softBreaks = true): Buffer {
  const joined = softBreaks ? text.replace(/[ \t]+(?=\r?\n)/g, '').replace(/=\r?\n/g, '') : text;
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(joined[i] ?? '', 'utf8'));
  }
  return Buffer.from(bytes);
}

/** Base64 in lines of 76 characters. */
export function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}
