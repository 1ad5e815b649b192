/**
 * Just enough DER (X.690) to write an X.509 certificate by hand, and to find one element in one.
 * Every encoder returns a whole TLV; parts are copied once into a buffer of the final size.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The header of a TLV: the tag, then the definite length, short form under 128. */
function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.of(tag, length);
  let octets = 0;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets += 1;
  const out = Buffer.allocUnsafe(2 + octets);
  out[0] = tag;
  out[1] = 0x80 | octets;
  out.writeUIntBE(length, 2, octets);
  return out;
}

/** One element whose content is `parts` in order. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const head = header(tag, length);
  const out = Buffer.allocUnsafe(head.length + length);
  head.copy(out, 0);
  let at = head.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const sequence = (...items: readonly Uint8Array[]): Buffer => tlv(TAG.sequence, ...items);

/** A SET OF with one member needs no sorting; callers with more sort by encoding first. */
export const set = (...items: readonly Uint8Array[]): Buffer => tlv(TAG.set, ...items);

/** `[n] EXPLICIT`: a constructed context tag wrapping whole elements. */
export const explicit = (n: number, ...items: readonly Uint8Array[]): Buffer => tlv(0xa0 | n, ...items);

/** `[n] IMPLICIT` over a primitive type: the content stays, the tag becomes the context tag. */
export const implicit = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);

export const boolean = (value: boolean): Buffer => Buffer.of(TAG.boolean, 1, value ? 0xff : 0x00);

export const nullValue = (): Buffer => Buffer.of(TAG.null, 0);

/**
 * A non-negative INTEGER from its big-endian magnitude: leading zero octets dropped, one put back
 * where the top bit would otherwise read as a sign, as DER's minimal encoding demands.
 */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const value = magnitude.subarray(start);
  const first = value[0];
  if (first === undefined) return Buffer.of(TAG.integer, 1, 0);
  return first >= 0x80 ? tlv(TAG.integer, Buffer.of(0), value) : tlv(TAG.integer, value);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`not a small non-negative integer: ${value}`);
  const octets: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return unsignedInteger(Uint8Array.from(octets));
}

/** An OBJECT IDENTIFIER from its dotted form: the first two arcs share an octet, then base 128. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first, second, ...rest] = arcs;
  if (
    first === undefined ||
    second === undefined ||
    arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)
  ) {
    throw new RangeError(`not an object identifier: ${dotted}`);
  }
  const octets: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128 = [arc % 128];
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128)) {
      base128.unshift(0x80 | (high % 128));
    }
    octets.push(...base128);
  }
  return tlv(TAG.oid, Uint8Array.from(octets));
}

export const bitString = (bits: Uint8Array, unusedBits = 0): Buffer =>
  tlv(TAG.bitString, Buffer.of(unusedBits), bits);

/**
 * A named-bit BIT STRING (like keyUsage) from bit numbers, bit 0 being the most significant: DER
 * drops trailing zero bits, so the string ends at the highest bit set.
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const octets = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) octets[bit >> 3] = (octets[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return bitString(octets, 7 - (highest & 7));
}

export const octetString = (content: Uint8Array): Buffer => tlv(TAG.octetString, content);

/** PrintableString content is a subset of ASCII; callers check the alphabet. */
export const printableString = (text: string): Buffer =>
  tlv(TAG.printableString, Buffer.from(text, 'latin1'));

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * RFC 5280 section 4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for 1950 through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) otherwise; whole seconds, always Zulu. Milliseconds are dropped.
 */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(year) || year < 0 || year > 9999) throw new RangeError('date outside years 0 to 9999');
  const rest =
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  if (year >= 1950 && year <= 2049) return tlv(TAG.utcTime, Buffer.from(two(year % 100) + rest, 'latin1'));
  return tlv(TAG.generalizedTime, Buffer.from(String(year).padStart(4, '0') + rest, 'latin1'));
}

/** Where one element sits in `der`: its tag, where its content starts, and where it ends. */
export interface DerElement {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Reads the element at `offset`; definite lengths only, as DER has. */
export function readElement(der: Uint8Array, offset: number): DerElement {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw new RangeError('truncated DER');
  let length = first;
  let contentStart = offset + 2;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i += 1) {
      const octet = der[contentStart + i];
      if (octet === undefined) throw new RangeError('truncated DER');
      length = length * 256 + octet;
    }
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > der.length) throw new RangeError('truncated DER');
  return { tag, start: offset, contentStart, end };
}

/** The children of a constructed element, in order. */
export function children(der: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readElement(der, at);
    out.push(child);
    at = child.end;
  }
  return out;
}
