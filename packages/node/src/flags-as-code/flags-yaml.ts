import { createHash } from 'node:crypto';
import { Document, isNode, LineCounter, parseDocument } from 'yaml';
import { canonicalFile, formatPath, validateFile, type FileProblem, type FlagsFile } from './flags-file.js';

/** Where the JSON Schema sits for editors (yaml-language-server), relative to a file at a project's root. */
export const SCHEMA_COMMENT = ' yaml-language-server: $schema=./node_modules/@ripcord/node/schema/flags-file.schema.json';

/** A file read from disk: its parsed content, or every problem found, each with a line and column when known. */
export type ReadResult = { file: FlagsFile; sha256: string } | { errors: string[] };

/** The SHA-256 of the file's bytes, in hex: audit reasons name it so a change can be traced to a commit. */
export function sha256Of(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Parses and validates a flags file (YAML, or JSON, which is YAML too). Problems name the file, the
 * line and column, and the path inside the file, e.g. `flags.yaml:12:9 flags[0].config.enabled: …`.
 */
export function readFlagsFile(name: string, text: string): ReadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      errors: doc.errors.slice(0, 10).map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        return `${name}:${at.line}:${at.col} YAML: ${e.message.split('\n')[0]}`;
      }),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const result = validateFile(data);
  if (!result.file) return { errors: result.problems.map((p) => describe(name, doc, lineCounter, p)) };
  return { file: result.file, sha256: sha256Of(text) };
}

/** A problem with the position of the deepest node of its path that the file has. */
function describe(name: string, doc: Document, lineCounter: LineCounter, problem: FileProblem): string {
  let position = '';
  for (let depth = problem.path.length; depth >= 0; depth--) {
    const node = doc.getIn(problem.path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const at = lineCounter.linePos(node.range[0]);
      position = `:${at.line}:${at.col}`;
      break;
    }
  }
  return `${name}${position} ${formatPath(problem.path)}: ${problem.message}`;
}

/** The file as YAML in canonical form: what export writes, byte for byte the same for the same flags. */
export function renderFlagsFile(file: FlagsFile): string {
  const doc = new Document(canonicalFile(file), { aliasDuplicateObjects: false });
  doc.commentBefore = SCHEMA_COMMENT;
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}
