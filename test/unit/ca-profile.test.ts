import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPrivateKeyPem, importX509SigningKey, subjectKeyId } from '../../src/core/authorities/keys.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { X509Authority } from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { mintX509Svid, prepareX509Signer, type X509Svid } from '../../src/core/svid/x509-svid.ts';
import { runOpenssl } from '../openssl.ts';

/** Real time: Node's TLS handshake has no clock to inject. */
const NOW = new Date();
const HOUR = 3_600_000;
const TRUST_DOMAIN = 'example.org';
const NAME_CONSTRAINTS_OID = '2.5.29.30';

const workDir = mkdtempSync(join(tmpdir(), 'trustline-ca-profile-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function writeTemp(name: string, ...pems: string[]): string {
  const path = join(workDir, name);
  writeFileSync(path, pems.join('\n'));
  return path;
}

/** Verifies leaf (first PEM of the chain file) against the roots with Go's crypto/x509, stdlib only. */
const GO_VERIFIER = `package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

func read(path string) []*x509.Certificate {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		certificate, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			panic(err)
		}
		out = append(out, certificate)
	}
}

func main() {
	roots := x509.NewCertPool()
	for _, root := range read(os.Args[1]) {
		roots.AddCert(root)
	}
	chain := read(os.Args[2])
	intermediates := x509.NewCertPool()
	for _, certificate := range chain[1:] {
		intermediates.AddCert(certificate)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("OK")
}
`;

let goProgram: string;

function goVerify(roots: string, chain: string): { ok: boolean; output: string } {
  const result = spawnSync('go', ['run', goProgram, roots, chain], {
    encoding: 'utf8',
  });
  if (result.error && 'code' in result.error && result.error.code === 'ENOENT') {
    throw new Error(
      'these tests run Go to verify certificates with crypto/x509: install Go (https://go.dev/dl)',
    );
  }
  if (result.error) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

const opensslVerify = (roots: string, chain: string) =>
  runOpenssl(['verify', '-x509_strict', '-CAfile', roots, '-untrusted', chain, chain]);

interface Issuer {
  certificate: string;
  privateKey: string;
  id: string;
}

/**
 * A certificate for any URI, signed by the issuer's key outside Trustline's checks: what a stolen
 * authority key, or an intermediate made under one, could produce.
 */
async function issueUnder(issuer: Issuer, uri: string, ca = false): Promise<Issuer> {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const id = subjectKeyId(spki);
  const signer = importX509SigningKey(issuer.privateKey);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: ca ? 'O=Elsewhere, CN=Intermediate' : 'O=Elsewhere',
    issuer: new x509.X509Certificate(issuer.certificate).subjectName,
    notBefore: new Date(NOW.getTime() - HOUR),
    notAfter: new Date(NOW.getTime() + HOUR),
    publicKey: spki,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      new x509.KeyUsagesExtension(
        ca ? x509.KeyUsageFlags.keyCertSign : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }]),
      new x509.SubjectKeyIdentifierExtension(id),
      new x509.AuthorityKeyIdentifierExtension(issuer.id),
    ],
  });
  return { certificate: certificate.toString('pem'), privateKey: exportPrivateKeyPem(keys.privateKey), id };
}

let constrained: X509Authority;
let plain: X509Authority;
let svid: X509Svid;
let peer: X509Svid;

beforeAll(async () => {
  goProgram = join(workDir, 'verify.go');
  writeFileSync(goProgram, GO_VERIFIER);
  const mint = (uriNameConstraint: boolean) =>
    mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: NOW,
      ttlMs: 24 * HOUR,
      uriNameConstraint,
    });
  [constrained, plain] = await Promise.all([mint(true), mint(false)]);
  const signer = prepareX509Signer(constrained);
  const issue = (path: string) =>
    mintX509Svid(signer, {
      spiffeId: `spiffe://${TRUST_DOMAIN}${path}`,
      dnsNames: ['api.shop.svc'],
      ttlMs: HOUR,
      now: NOW,
    });
  svid = await issue('/ns/shop/sa/api');
  peer = await issue('/ns/shop/sa/client');
}, 60_000);

describe('Trustline X.509 authorities', () => {
  it('carry pathLenConstraint 0: a chain through a CA certificate made under one is refused', async () => {
    for (const authority of [constrained, plain]) {
      const constraints = new x509.X509Certificate(authority.certificate).getExtension(
        x509.BasicConstraintsExtension,
      );
      expect(constraints).toMatchObject({ ca: true, pathLength: 0, critical: true });
    }
    const intermediate = await issueUnder(plain, `spiffe://${TRUST_DOMAIN}`, true);
    const leaf = await issueUnder(intermediate, `spiffe://${TRUST_DOMAIN}/ns/shop/sa/api`);
    const roots = writeTemp('pathlen-roots.pem', plain.certificate);
    const chain = writeTemp('pathlen-chain.pem', leaf.certificate, intermediate.certificate);
    const judged = opensslVerify(roots, chain);
    expect(judged.ok).toBe(false);
    expect(judged.output).toContain('path length constraint exceeded');
    const go = goVerify(roots, chain);
    expect(go.ok).toBe(false);
    expect(go.output).toContain('path length constraint');
  }, 120_000);

  it('have no name constraint unless the TrustDomain asks for one', () => {
    const certificate = new x509.X509Certificate(plain.certificate);
    expect(certificate.getExtension(NAME_CONSTRAINTS_OID)).toBeNull();
  });

  it('with uriNameConstraint, carry one critical constraint permitting the trust domain host', () => {
    const extension = new x509.X509Certificate(constrained.certificate).getExtension(NAME_CONSTRAINTS_OID);
    expect(extension?.critical).toBe(true);
    const text = runOpenssl([
      'x509',
      '-in',
      writeTemp('constrained.pem', constrained.certificate),
      '-noout',
      '-text',
    ]);
    expect(text.output).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+URI:example\.org\s/);
  });
});

describe('a leaf under a URI-constrained authority', () => {
  it('verifies with Go crypto/x509', () => {
    const result = goVerify(
      writeTemp('go-roots.pem', constrained.certificate),
      writeTemp('go-leaf.pem', svid.certificate),
    );
    expect(result).toEqual({ ok: true, output: 'OK' });
  }, 120_000);

  it('verifies with openssl verify -x509_strict', () => {
    const result = opensslVerify(
      writeTemp('os-roots.pem', constrained.certificate),
      writeTemp('os-leaf.pem', svid.certificate),
    );
    expect(result.output).toContain(': OK');
    expect(result.ok).toBe(true);
  });

  it('completes a mutual TLS handshake with Node, each side trusting only the bundle', async () => {
    const server = tls.createServer({
      cert: svid.certificate,
      key: svid.privateKey,
      ca: constrained.certificate,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket) => socket.end(socket.getPeerCertificate().subjectaltname ?? ''));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
      const { port } = address;
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        cert: peer.certificate,
        key: peer.privateKey,
        ca: constrained.certificate,
        // SPIFFE peers are checked by SPIFFE ID, not host name.
        checkServerIdentity: () => undefined,
      });
      await once(socket, 'secureConnect');
      expect(socket.authorized).toBe(true);
      expect(socket.getPeerCertificate().subjectaltname).toContain('URI:spiffe://example.org/ns/shop/sa/api');
      const [reply] = await once(socket, 'data');
      expect(String(reply)).toContain('URI:spiffe://example.org/ns/shop/sa/client');
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it('for another trust domain is refused by Go and by openssl', async () => {
    const roots = writeTemp('foreign-roots.pem', constrained.certificate);
    const leaf = writeTemp(
      'foreign-leaf.pem',
      (await issueUnder(constrained, 'spiffe://other.org/ns/shop/sa/api')).certificate,
    );
    const go = goVerify(roots, leaf);
    expect(go.ok).toBe(false);
    expect(go.output).toMatch(/not permitted|constraint/);
    const judged = opensslVerify(roots, leaf);
    expect(judged.ok).toBe(false);
    expect(judged.output).toContain('permitted subtree violation');
  }, 120_000);
});
