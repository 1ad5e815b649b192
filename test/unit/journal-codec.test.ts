import { beforeAll, describe, expect, it } from 'vitest';
import { objectNameSchema } from '../../src/api/meta.ts';
import {
  decodeJournal,
  encodeJournal,
  JournalError,
  journalSecretName,
} from '../../src/core/authorities/journal-codec.ts';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { Journal, JwtAuthority, X509Authority } from '../../src/core/authorities/model.ts';

const TRUST_DOMAIN = 'example.org';
const NOW = new Date('2030-06-01T12:00:00Z');
const DAY = 86_400_000;

const isObjectName = (name: string): boolean => objectNameSchema.safeParse(name).success;

describe('journalSecretName', () => {
  it('keeps the trust domain readable and appends a hash', () => {
    expect(journalSecretName('example.org')).toMatch(/^trustline-journal-example\.org-[0-9a-f]{10}$/);
  });

  it('is deterministic', () => {
    expect(journalSecretName('example.org')).toBe(journalSecretName('example.org'));
    expect(journalSecretName('a_b.example')).toBe(journalSecretName('a_b.example'));
  });

  it.each([
    'example.org',
    'my_domain.org',
    '_leading.example',
    'trailing.example_',
    '___',
    'a-b-c.d-e-f',
    '0.1.2.3',
    'a'.repeat(255),
    `${'a_'.repeat(127)}a`,
    `${'x'.repeat(39)}.tld`,
    `${'x'.repeat(39)}_tld`,
    `${'x'.repeat(39)}-tld`,
  ])('gives a valid Kubernetes object name for %j', (trustDomain) => {
    const name = journalSecretName(trustDomain);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(isObjectName(name), name).toBe(true);
  });

  it('gives different names to trust domains that differ only after the readable part', () => {
    const common = 'x'.repeat(40);
    const one = journalSecretName(`${common}.one`);
    const two = journalSecretName(`${common}.two`);
    expect(one).not.toBe(two);
    expect(one.slice(0, -10)).toBe(two.slice(0, -10));
  });

  it('gives different names to trust domains that differ only by "_" against "-"', () => {
    expect(journalSecretName('my_domain.org')).not.toBe(journalSecretName('my-domain.org'));
  });

  // These pass trustDomainNameSchema; a '.' next to '-' or '_', or two in a row, must not leave an empty
  // label or one that starts or ends with '-'.
  it.each(['example_.org', 'example-.org', 'a._b', 'a..b'])(
    'gives a valid Kubernetes object name for %j, whose labels need trimming',
    (trustDomain) => {
      expect(isObjectName(journalSecretName(trustDomain))).toBe(true);
    },
  );
});

describe('decodeJournal', () => {
  let active: X509Authority;
  let prepared: X509Authority;
  let other: X509Authority;
  let signingKey: JwtAuthority;
  let journal: Journal;

  beforeAll(async () => {
    const mintCa = () =>
      mintX509Authority({ trustDomain: TRUST_DOMAIN, keyType: 'EC-P256', now: NOW, ttlMs: DAY });
    const [a, p, o, k] = await Promise.all([
      mintCa(),
      mintCa(),
      mintCa(),
      mintJwtAuthority({ algorithm: 'ES256', now: NOW, ttlMs: DAY }),
    ]);
    active = { ...a, state: 'Active' };
    prepared = p;
    other = o;
    signingKey = { ...k, state: 'Active' };
    journal = {
      version: 1,
      trustDomain: TRUST_DOMAIN,
      authorities: [active, prepared, signingKey],
      revoked: [{ type: 'UpstreamX509', id: 'abcdef' }],
      revocations: [],
      bundle: { sequence: 7, contentHash: 'f00d' },
    };
  });

  /** Decodes text that must fail, and gives the JournalError's message, checked to hold no key. */
  const failure = (text: string, trustDomain = TRUST_DOMAIN): string => {
    try {
      decodeJournal(text, trustDomain);
    } catch (error) {
      expect(error).toBeInstanceOf(JournalError);
      if (!(error instanceof JournalError)) throw error;
      expect(error.name).toBe('JournalError');
      expect(error.message).not.toContain('PRIVATE KEY');
      return error.message;
    }
    throw new Error('decodeJournal accepted the journal');
  };

  const withAuthorities = (authorities: Journal['authorities']): string =>
    encodeJournal({ ...journal, authorities });

  it('round-trips a journal of real authorities', () => {
    const text = encodeJournal(journal);
    expect(decodeJournal(text, TRUST_DOMAIN)).toEqual(journal);
  });

  it('round-trips an empty journal', () => {
    const empty: Journal = {
      ...journal,
      authorities: [],
      revoked: [],
      bundle: { sequence: 0, contentHash: '' },
    };
    expect(decodeJournal(encodeJournal(empty), TRUST_DOMAIN)).toEqual(empty);
  });

  it('refuses text that is not JSON, without quoting it', () => {
    const text = encodeJournal(journal);
    const cut = text.slice(0, text.indexOf('PRIVATE KEY') + 20);
    expect(cut).toContain('PRIVATE KEY');
    expect(failure(cut)).toBe('the journal is not JSON');
    expect(failure('')).toBe('the journal is not JSON');
  });

  it('refuses a journal that does not match its schema, naming the path', () => {
    expect(failure(withAuthorities([active, { ...prepared, notAfter: 'tomorrow' }]))).toBe(
      'the journal does not match its schema at authorities.1.notAfter: Invalid ISO datetime',
    );
    expect(failure(encodeJournal({ ...journal, bundle: { sequence: -1, contentHash: '' } }))).toMatch(
      /^the journal does not match its schema at bundle\.sequence: /,
    );
    expect(failure(JSON.stringify({ ...journal, version: 2 }))).toBe(
      'the journal does not match its schema at version: Invalid input: expected 1',
    );
  });

  it('refuses a private key of the wrong JSON type without quoting the journal', () => {
    const journalText = JSON.stringify({
      ...journal,
      authorities: [{ ...active, privateKey: 5 }, signingKey],
    });
    expect(failure(journalText)).toBe(
      'the journal does not match its schema at authorities.0.privateKey: Invalid input: expected string, received number',
    );
  });

  it('refuses a journal of another trust domain', () => {
    expect(failure(encodeJournal(journal), 'other.org')).toBe(
      'the journal belongs to trust domain example.org, not other.org',
    );
  });

  it('refuses an inconsistent journal: two active X.509 authorities', () => {
    expect(failure(withAuthorities([active, { ...prepared, state: 'Active' }, signingKey]))).toBe(
      `the journal is inconsistent: 2 X509 authorities are Active: ${active.id}, ${prepared.id}`,
    );
  });

  it('refuses an X.509 authority holding the private key of another authority', () => {
    const swapped: X509Authority = { ...prepared, privateKey: other.privateKey };
    expect(failure(withAuthorities([active, swapped, signingKey]))).toBe(
      `authority ${prepared.id} in the journal fails its check: the private key is not the certificate's`,
    );
  });

  it("refuses a JWT authority holding an X.509 authority's private key", () => {
    const swapped: JwtAuthority = { ...signingKey, privateKey: active.privateKey };
    expect(failure(withAuthorities([active, prepared, swapped]))).toBe(
      `authority ${signingKey.id} in the journal fails its check: the private key is not the public key's`,
    );
  });

  it('refuses an unreadable private key', () => {
    expect(failure(withAuthorities([active, { ...prepared, privateKey: 'not a key' }, signingKey]))).toBe(
      `authority ${prepared.id} in the journal fails its check: the private key is not a readable PEM private key`,
    );
  });
});
