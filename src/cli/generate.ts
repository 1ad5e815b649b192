import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderArtifacts } from '../deploy/manifests.ts';

const root = join(import.meta.dirname, '..', '..');
for (const [path, content] of renderArtifacts()) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  console.log(`wrote ${path}`);
}
