/** One `-----BEGIN <label>-----` block, decoded. */
export interface PemBlock {
  label: string;
  der: Buffer;
}

/** A PEM text that cannot be read; the message says why without quoting the content. */
export class PemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PemError';
  }
}

const BLOCK = /-----BEGIN ([^-\r\n]+)-----([\s\S]*?)-----END ([^-\r\n]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block of `text`, in order. Text between blocks is ignored, as OpenSSL does (files made
 * with `openssl x509 -text` carry a description before the block).
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let end = 0;
  for (const match of text.matchAll(BLOCK)) {
    const [whole, label = '', body = '', endLabel] = match;
    const position = blocks.length + 1;
    if (endLabel !== label) {
      throw new PemError(`PEM block ${position} begins as ${label} but ends as ${endLabel}`);
    }
    const base64 = body.replace(/\s+/g, '');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      // Legacy encrypted PEM carries "Proc-Type:" headers inside the block, which land here too.
      throw new PemError(`PEM block ${position} (${label}) is not plain base64`);
    }
    blocks.push({ label, der: Buffer.from(base64, 'base64') });
    end = match.index + whole.length;
  }
  if (text.indexOf('-----BEGIN', end) !== -1) {
    throw new PemError(`PEM block ${blocks.length + 1} has no matching END line`);
  }
  return blocks;
}

/** The DER of every block of `text`, which must all be certificates. */
export function decodeCertificatesPem(text: string): Buffer[] {
  return decodePem(text).map((block, index) => {
    if (block.label !== 'CERTIFICATE') {
      throw new PemError(`PEM block ${index + 1} is a ${block.label}, where only CERTIFICATE blocks belong`);
    }
    return block.der;
  });
}

export function encodePem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
