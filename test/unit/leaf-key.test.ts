import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/core/semaphore.ts';
import { generateLeafKey } from '../../src/core/svid/leaf-key.ts';

/** Counts how often the event loop turns while `work` runs. */
async function turnsDuring(work: Promise<unknown>): Promise<number> {
  let done = false;
  let turns = 0;
  const finished = work.finally(() => {
    done = true;
  });
  while (!done) {
    await nextTurn();
    turns += 1;
  }
  await finished;
  return turns;
}

describe('generateLeafKey', () => {
  it('makes an RSA-4096 key off the event loop: the loop keeps turning meanwhile', async () => {
    const turns = await turnsDuring(generateLeafKey('RSA-4096'));
    // Generated on the loop, the key would be done before the first turn.
    expect(turns).toBeGreaterThan(10);
  }, 60_000);

  it('returns a PKCS#8 key and its SubjectPublicKeyInfo for each key type', async () => {
    for (const keyType of ['EC-P256', 'EC-P384', 'RSA-2048'] as const) {
      const key = await generateLeafKey(keyType);
      expect(key.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(key.spki[0]).toBe(0x30);
    }
  });
});

describe('Semaphore', () => {
  it('runs at most its limit at once, and the rest in the order they asked', async () => {
    const semaphore = new Semaphore(2);
    const releases: (() => void)[] = [];
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const tasks = [0, 1, 2, 3, 4].map((id) =>
      semaphore.run(async () => {
        started.push(id);
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return id;
      }),
    );
    for (let released = 0; released < 5; released += 1) {
      while (releases.length === 0) await nextTurn();
      releases.shift()?.();
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('frees its slot when a task fails', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await semaphore.run(async () => 'next')).toBe('next');
  });

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow('a semaphore needs a limit of at least 1, not 0');
  });
});
