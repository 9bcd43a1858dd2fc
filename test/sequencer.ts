import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that stop and restart the stack's PostgreSQL, Redis or Temporal: they run in the
 * `serial` project, one at a time, after every parallel file, in this order (each leaves the
 * services running as it found them).
 */
export const SERIAL_FILES = [
  'test/integration/temporal-outage.test.ts',
  'test/integration/webhooks-durability.test.ts',
  'test/integration/security/revocation-during-outage.test.ts',
  'test/integration/degraded.test.ts',
];

/** Vitest's order (groups, then the longest files first), except the serial files, which keep SERIAL_FILES's. */
export class RipcordSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => SERIAL_FILES.indexOf(relative(spec.project.config.root, spec.moduleId));
    const serial = sorted.filter((spec) => spec.project.name === 'serial').sort((a, b) => rank(a) - rank(b));
    return sorted.map((spec) => (spec.project.name === 'serial' ? serial.shift()! : spec));
  }
}
