import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that stop and restart the stack's PostgreSQL, Redis or Temporal: they run in the
 * `serial` project, one at a time, in this order (each leaves the services running as it found
 * them); in a whole `npm test` on the outage stack beside the other files, else after them.
 */
export const SERIAL_FILES = [
  'test/integration/temporal-outage.test.ts',
  'test/integration/webhooks-durability.test.ts',
  'test/integration/security/revocation-during-outage.test.ts',
  'test/integration/degraded.test.ts',
];

/**
 * The parallel files that take longest (a minute or more down to ~12 s in a clean-clone run), longest
 * first: they start before every other file, so no long file starts last and holds the run while the
 * other workers sit idle. Vitest orders by the durations it cached in node_modules, which a fresh
 * clone lacks (it would run them in the order found).
 */
export const LONGEST_FILES = [
  'test/integration/security/api-fuzz-admin-rest.test.ts',
  'test/integration/security/api-fuzz-admin-flags-and-access.test.ts',
  'test/integration/production-build.test.ts',
  'test/e2e/ui.test.ts',
  'test/e2e/journeys-release-ui.test.ts',
  'test/e2e/journeys-ui.test.ts',
  'test/integration/sdk-packages.test.ts',
  'test/integration/multi-process.test.ts',
  'test/integration/kill-switch.test.ts',
  'test/integration/rbac-matrix.test.ts',
  'test/integration/security/api-fuzz-escapes-and-client.test.ts',
  'test/integration/infra-rolling-restart.test.ts',
  'test/integration/rollout-api.test.ts',
  'test/integration/rollout-split-workflow.test.ts',
  'test/integration/release-pipelines-api.test.ts',
  'test/e2e/flag-page-ui.test.ts',
  'test/integration/lifecycle.test.ts',
  'test/integration/flagd-java.test.ts',
  'test/integration/prometheus-guard-failures.test.ts',
  'test/integration/infra-redis.test.ts',
  'test/integration/infra-temporal-tls.test.ts',
  'test/integration/write-path-findings.test.ts',
  'test/integration/kill-release-new-rollout.test.ts',
  'test/integration/import-unleash.test.ts',
  'test/e2e/change-requests-ui.test.ts',
  'test/integration/infra-postgres-tls.test.ts',
  'test/integration/openfeature-otel.test.ts',
  'test/e2e/release-templates-ui.test.ts',
  'test/e2e/flag-tabs-ui.test.ts',
  'test/integration/alert-triggers.test.ts',
];

/**
 * Vitest's order (groups; within a group one project after the other; then the longest files first),
 * except: the integration project starts with LONGEST_FILES, and the serial files keep SERIAL_FILES's order.
 */
export class RipcordSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const path = (spec: TestSpecification) => relative(spec.project.config.root, spec.moduleId);
    const inOrder = (project: string, order: string[]) => {
      const rank = (spec: TestSpecification) => {
        const at = order.indexOf(path(spec));
        return at === -1 ? order.length : at;
      };
      // Array.prototype.sort is stable: files outside `order` keep vitest's order, after the listed ones.
      const mine = sorted.filter((spec) => spec.project.name === project).sort((a, b) => rank(a) - rank(b));
      return (spec: TestSpecification) => (spec.project.name === project ? mine.shift()! : spec);
    };
    const serial = inOrder('serial', SERIAL_FILES);
    const integration = inOrder('integration', LONGEST_FILES);
    return sorted.map((spec) => integration(serial(spec)));
  }
}
