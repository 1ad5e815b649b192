import { mintX509Authority } from '../src/core/authorities/mint.ts';
import type { X509SvidParams } from '../src/core/svid/x509-svid.ts';
import { mintX509Svid, prepareX509Signer } from '../src/core/svid/x509-svid.ts';
import { mintX509SvidWithBuilder } from '../src/core/svid/x509-svid-builder.ts';
import { percentile } from './stats.ts';

export interface MintingRate {
  perSecond: number;
  medianUs: number;
}

export interface MintingBench {
  handBuilt: MintingRate;
  builder: MintingRate;
}

/** Mints back to back for `seconds`, each SVID timed on its own. */
async function measure(mint: () => unknown, seconds: number): Promise<MintingRate> {
  const samples: number[] = [];
  const start = performance.now();
  const stop = start + seconds * 1000;
  for (let at = start; at < stop; ) {
    await mint();
    const done = performance.now();
    samples.push(done - at);
    at = done;
  }
  const elapsed = performance.now() - start;
  return { perSecond: (samples.length / elapsed) * 1000, medianUs: percentile(samples, 50) * 1000 };
}

/**
 * EC P-256 X.509-SVIDs under an EC P-256 authority, one at a time on the main thread: the hand-built
 * DER path, then @peculiar/x509's builder, each warmed up first so both run optimized code.
 */
export async function benchMinting(seconds = 3, warmUpSeconds = 1): Promise<MintingBench> {
  const now = new Date();
  const authority = await mintX509Authority({
    trustDomain: 'bench.example',
    keyType: 'EC-P256',
    now,
    ttlMs: 86_400_000,
  });
  const signer = prepareX509Signer(authority);
  const params: X509SvidParams = {
    spiffeId: 'spiffe://bench.example/ns/bench/sa/workload',
    dnsNames: ['workload.bench.svc'],
    keyType: 'EC-P256',
    ttlMs: 3_600_000,
    now,
  };
  const handBuilt = () => mintX509Svid(signer, params);
  const builder = () => mintX509SvidWithBuilder(signer, params);
  await measure(handBuilt, warmUpSeconds);
  await measure(builder, warmUpSeconds);
  return { handBuilt: await measure(handBuilt, seconds), builder: await measure(builder, seconds) };
}

export function reportMinting({ handBuilt, builder }: MintingBench): string[] {
  const line = (name: string, rate: MintingRate) =>
    `X.509-SVID minting, EC P-256, one core, ${name}: ${Math.round(rate.perSecond)}/s, median ${rate.medianUs.toFixed(0)} µs`;
  return [
    line('hand-built DER', handBuilt),
    line('@peculiar/x509 builder', builder),
    `hand-built DER is ${(handBuilt.perSecond / builder.perSecond).toFixed(1)}x the builder's rate`,
  ];
}
