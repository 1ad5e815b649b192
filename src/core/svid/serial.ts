/**
 * Serials as one spelling: lower-case hex of the value's octets without leading zero octets, as the
 * signer reports them (Node writes upper case, and some tools drop or add a leading zero).
 */
export function normalizeSerial(serial: string): string {
  const digits = serial.toLowerCase().replace(/^0+/, '');
  return digits.length % 2 === 0 ? digits : `0${digits}`;
}
