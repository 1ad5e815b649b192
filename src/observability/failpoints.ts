/**
 * Named points where the operator can be made to die at once (SIGKILL, no cleanup), to prove that a
 * rotation cut off at any step converges after restart. Set `TRUSTLINE_FAILPOINTS` to a comma-separated
 * list of names; unset in production, where each call is one Set lookup.
 */
export const ROTATION_FAILPOINTS = [
  'authority-minted',
  'journal-written',
  'bundle-partly-published',
  'bundle-published',
] as const;
/** Right after the journal write that taints a key, and the one that revokes it. */
export const REVOCATION_FAILPOINTS = ['revocation-tainted', 'revocation-revoked'] as const;
export const FAILPOINTS = [...ROTATION_FAILPOINTS, ...REVOCATION_FAILPOINTS] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export type FailpointTrigger = (name: Failpoint) => void;

export function failpointsFromEnvironment(value = process.env.TRUSTLINE_FAILPOINTS): FailpointTrigger {
  const armed = new Set((value ?? '').split(',').map((name) => name.trim()));
  for (const name of armed) {
    if (name !== '' && !(FAILPOINTS as readonly string[]).includes(name)) {
      throw new Error(
        `TRUSTLINE_FAILPOINTS names an unknown failpoint ${name}; known: ${FAILPOINTS.join(', ')}`,
      );
    }
  }
  return (name) => {
    if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
  };
}
