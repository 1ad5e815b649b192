import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureControlPlane, ensureHelm } from '../../hack/controlplane/build.ts';
import { startControlPlane, stopControlPlane } from '../../hack/controlplane/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    helm: string;
  }
}

const log = (message: string) => console.error(`[controlplane] ${message}`);

/** One real control plane for every integration test file; torn down when the run ends. */
export default async function setup(project: TestProject) {
  const binaries = await ensureControlPlane(log);
  const helm = await ensureHelm(log);
  const dir = await mkdtemp(join(tmpdir(), 'trustline-test-'));
  const running = await startControlPlane(binaries, dir, log);
  project.provide('kubeconfig', running.kubeconfig);
  project.provide('kubectl', binaries.kubectl);
  project.provide('helm', helm);
  return async () => {
    await stopControlPlane(dir);
  };
}
