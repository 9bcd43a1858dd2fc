import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * A write's rules live in its command (src/<feature>/*-commands.ts), never in a route: a route that
 * changes something parses, builds the caller (callerOf) and presents the command's answer. This reads
 * every route file and reports each non-GET route whose handlers (or the functions of the same file
 * they call) decide rights themselves — an RBAC or role check, or a 403 of their own.
 */

const ROUTES_DIR = new URL('../../api/routes/', import.meta.url).pathname;

/** The calls that decide rights: api/auth.ts's route helpers, and the RBAC functions themselves. */
const RIGHTS_CHECKS = new Set([
  'authorize', 'authorizeUser', 'authorizeFlag', 'authorizeFlagUser', 'requireUser', 'decide', 'isAllowed', 'grantCovers',
  'canBypassChangeRequests', 'requireAccess', 'requireUserAccess', 'requireUserCaller', 'requireRole', 'requireFlagAccess', 'requireBypassRight',
]);

/**
 * Routes that may keep a check of their own, and why (each must name a route that exists). Take an
 * entry off once its route leaves the checks to a command.
 */
const ALLOWED: Record<string, string> = {
  'events.ts POST /api/v1/events': 'SDK outcome reports (telemetry for rollout guards), not a management write: no audit event, a token kind decides',
  'explain.ts POST /api/v1/flags/{key}/environments/{env}/explain': 'explains an evaluation for a context: a read (flag:read), it changes nothing',
  'stream-tickets.ts POST /api/v1/stream/tickets': 'mints a read ticket for the stream: a read right, not a write',
};

interface Finding { route: string; checks: string[] }

/** The non-GET routes of one route file's source and the rights checks each reaches. */
export function writeRouteChecks(fileName: string, source: string): Finding[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  // Functions declared anywhere in the file, by name: a handler's helper (`approverOf(res)`) counts as the handler.
  const locals = new Map<string, ts.Node>();
  const collect = (node: ts.Node): void => {
    if (ts.isFunctionDeclaration(node) && node.name) locals.set(node.name.text, node);
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer
      && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) locals.set(node.name.text, node.initializer);
    ts.forEachChild(node, collect);
  };
  collect(file);
  // String constants of the file, so a path given as one (`path: policyPath`) reads as the path.
  const strings = new Map<string, string>();
  const collectStrings = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isStringLiteral(node.initializer)) strings.set(node.name.text, node.initializer.text);
    ts.forEachChild(node, collectStrings);
  };
  collectStrings(file);
  const pathText = (node: ts.Expression): string => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (ts.isIdentifier(node)) return strings.get(node.text) ?? `{${node.text}}`;
    if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((span) => pathText(span.expression) + span.literal.text).join('');
    return node.getText(file);
  };

  function checksIn(root: ts.Node, seen: Set<string>): string[] {
    const found: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
        const name = node.expression.text;
        if (RIGHTS_CHECKS.has(name)) found.push(name);
        else if (locals.has(name) && !seen.has(name)) {
          seen.add(name);
          found.push(...checksIn(locals.get(name)!, seen));
        }
      }
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'ForbiddenError') found.push('new ForbiddenError');
      ts.forEachChild(node, visit);
    };
    visit(root);
    return found;
  }

  const findings: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'defineRoute') {
      const doc = node.arguments[2];
      const property = (name: string): ts.Expression | undefined => {
        const found = doc && ts.isObjectLiteralExpression(doc) ? doc.properties.find((p) => p.name?.getText(file) === name) : undefined;
        return found && ts.isPropertyAssignment(found) ? found.initializer : found && ts.isShorthandPropertyAssignment(found) ? found.name : undefined;
      };
      const method = property('method');
      const path = property('path');
      if (!method || !ts.isStringLiteral(method) || !path) throw new Error(`${fileName}: a defineRoute whose method is not a string literal`);
      if (method.text !== 'get') {
        const checks = node.arguments.slice(3).flatMap((handler) => checksIn(handler, new Set()));
        findings.push({ route: `${fileName} ${method.text.toUpperCase()} ${pathText(path)}`, checks: [...new Set(checks)] });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return findings;
}

const routeFiles = readdirSync(ROUTES_DIR).filter((name) => name.endsWith('.ts'));
const findings = routeFiles.flatMap((name) => writeRouteChecks(name, readFileSync(`${ROUTES_DIR}${name}`, 'utf8')));

describe('routes that change things decide no rights themselves', () => {
  it('finds the write routes (the reader sees them)', () => {
    // A reader that found nothing would pass everything: it must see the routes every write goes through.
    expect(findings.map((f) => f.route)).toEqual(expect.arrayContaining([
      'flags.ts POST /api/v1/flags', 'flags.ts POST /api/v1/flags/{key}/{verb}', 'users.ts POST /api/v1/users', 'tokens.ts DELETE /api/v1/tokens/{id}',
      'webhooks.ts PATCH /api/v1/webhooks/{id}', 'change-requests.ts PUT /api/v1/environments/{env}/change-policy',
      'release-pipelines.ts PUT /api/v1/release-templates/{name}', 'code-references.ts PUT /api/v1/code-references',
    ]));
    expect(findings.length).toBeGreaterThan(40);
  });

  it('no write route checks rights, except those listed with a reason', () => {
    const checking = findings.filter((f) => f.checks.length > 0 && !(f.route in ALLOWED)).map((f) => `${f.route}: ${f.checks.join(', ')}`);
    expect(checking, 'move these rules into the feature’s command (src/<feature>/*-commands.ts); the route builds the caller with callerOf').toEqual([]);
  });

  it('every listed exception names a route that exists', () => {
    const routes = new Set(findings.map((f) => f.route));
    expect(Object.keys(ALLOWED).filter((route) => !routes.has(route))).toEqual([]);
  });

  it('reports a planted check: in the handler, in a helper it calls, or a 403 of its own', () => {
    const planted = `
      const actorOf = (res) => authorizeUser(res, { resource: 'flag', action: 'read' });
      export function createRouter(commands) {
        defineRoute(router, MOUNT, { method: 'post', path: '/api/v1/a' }, async (req, res) => { requireUser(res, ['admin']); });
        defineRoute(router, MOUNT, { method: 'delete', path: '/api/v1/b' }, async (req, res) => { const actor = actorOf(res); });
        defineRoute(router, MOUNT, { method: 'patch', path: '/api/v1/c' }, (req, res) => { if (x) throw new ForbiddenError('no'); });
        defineRoute(router, MOUNT, { method: 'put', path: '/api/v1/d' }, async (req, res) => { res.json(await commands.put(callerOf(req, res), {})); });
        defineRoute(router, MOUNT, { method: 'get', path: '/api/v1/e' }, async (req, res) => { authorize(res, { resource: 'flag', action: 'read' }); });
      }`;
    expect(writeRouteChecks('x.ts', planted)).toEqual([
      { route: 'x.ts POST /api/v1/a', checks: ['requireUser'] },
      { route: 'x.ts DELETE /api/v1/b', checks: ['authorizeUser'] },
      { route: 'x.ts PATCH /api/v1/c', checks: ['new ForbiddenError'] },
      { route: 'x.ts PUT /api/v1/d', checks: [] },
    ]);
  });
});
