import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/**
 * The environment boundary rule, checked from source: every file lives in one environment
 * (`shared/`, `main/`, `preload/`, `renderer/`, `server/`) and imports only what that
 * environment may load. Pure over `{ path, text }` so it can be tested with synthetic files.
 */

export interface SourceFile {
  /** Repository-relative, forward slashes: `renderer/src/koe.ts`. */
  path: string;
  text: string;
}

export interface ImportRef {
  specifier: string;
  /** True only when the import is erased at build time (`import type`, `export type`, `typeof import()`). */
  typeOnly: boolean;
  line: number;
}

export interface Violation {
  file: string;
  line: number;
  rule: string;
  message: string;
}

export const ENVIRONMENTS = ['main', 'preload', 'renderer', 'shared', 'server'] as const;
type Env = (typeof ENVIRONMENTS)[number];

/** The only files that may load `electron` as a value. */
export const ELECTRON_VALUE_ALLOWED = new Set(['main/index.ts', 'preload/index.ts']);

const NODE_BUILTINS = new Set(builtinModules);
/** Packages that need Node (never in shared/renderer). */
const NODE_ONLY_PACKAGES = ['fastify', '@fastify/', 'pg', 'keytar', '@node-rs/', 'ws', 'playwright-core', 'electron-builder', 'electron-vite'];
/** Packages that need a DOM (never in shared). */
const DOM_PACKAGES = ['react', 'react-dom', 'react-i18next', 'sip.js', '@testing-library/', 'jsdom'];
/** Globals that exist only in a browser or only in Node: shared code must not touch them. */
const NON_SHARED_GLOBALS = new Set([
  'window',
  'document',
  'localStorage',
  'sessionStorage',
  'navigator',
  'location',
  'history',
  'HTMLElement',
  'customElements',
  'indexedDB',
  'process',
  'Buffer',
  '__dirname',
  '__filename',
  'global',
]);

export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]!);
}

function isPackage(specifier: string, list: readonly string[]): boolean {
  return list.some((p) => (p.endsWith('/') ? specifier.startsWith(p) : specifier === p || specifier.startsWith(`${p}/`)));
}

const isElectron = (specifier: string) => specifier === 'electron' || specifier.startsWith('electron/');

/** Which environment a repository-relative path belongs to, or null (tests, scripts, configs). */
export function environmentOf(repoPath: string): Env | null {
  const top = repoPath.split('/')[0] as Env;
  return (ENVIRONMENTS as readonly string[]).includes(top) ? top : null;
}

/** The environment a relative specifier lands in, from the importing file. */
function targetEnvironment(fromFile: string, specifier: string): Env | 'outside' | null {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return null;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  if (resolved.startsWith('..') || resolved.startsWith('/')) return 'outside';
  return environmentOf(resolved);
}

function parse(file: SourceFile): ts.SourceFile {
  const kind = file.path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, kind);
}

/** Every module reference in a file: static imports, re-exports, `import x = require()`, `import()`, `require()`, `typeof import()`. */
export function importsOf(file: SourceFile): ImportRef[] {
  const sf = parse(file);
  const refs: ImportRef[] = [];
  const add = (spec: ts.Node | undefined, typeOnly: boolean) => {
    if (spec && ts.isStringLiteralLike(spec)) {
      refs.push({ specifier: spec.text, typeOnly, line: sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // With verbatimModuleSyntax, `import { type X } from 'm'` still loads 'm': only `import type` is erased.
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isDynamicImport || isRequire) {
        const arg = node.arguments[0];
        if (arg && ts.isStringLiteralLike(arg)) add(arg, false);
        else if (arg) refs.push({ specifier: '<computed>', typeOnly: false, line: sf.getLineAndCharacterOfPosition(arg.getStart(sf)).line + 1 });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

/** Free references to browser-only or Node-only globals (names declared in the file itself are ignored). */
export function globalsUsed(file: SourceFile, names: ReadonlySet<string> = NON_SHARED_GLOBALS): { name: string; line: number }[] {
  const sf = parse(file);
  const declared = new Set<string>();
  const candidates: ts.Identifier[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isVariableDeclaration(node) ||
        ts.isParameter(node) ||
        ts.isBindingElement(node) ||
        ts.isFunctionDeclaration(node) ||
        ts.isClassDeclaration(node) ||
        ts.isImportSpecifier(node) ||
        ts.isImportClause(node) ||
        ts.isNamespaceImport(node)) &&
      node.name &&
      ts.isIdentifier(node.name)
    ) {
      declared.add(node.name.text);
    }
    if (ts.isIdentifier(node) && names.has(node.text)) {
      const p = node.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(p) && p.name === node) ||
        (ts.isQualifiedName(p) && p.right === node) ||
        ((ts.isPropertyAssignment(p) ||
          ts.isPropertySignature(p) ||
          ts.isPropertyDeclaration(p) ||
          ts.isMethodDeclaration(p) ||
          ts.isMethodSignature(p) ||
          ts.isEnumMember(p)) &&
          p.name === node);
      if (!isMemberName) candidates.push(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return candidates
    .filter((id) => !declared.has(id.text))
    .map((id) => ({ name: id.text, line: sf.getLineAndCharacterOfPosition(id.getStart(sf)).line + 1 }));
}

/** Checks every file against the environment rules; an empty list means the boundaries hold. */
export function scanBoundaries(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const env = environmentOf(file.path);
    if (!env) continue;
    const report = (line: number, rule: string, message: string) => out.push({ file: file.path, line, rule, message });
    for (const ref of importsOf(file)) {
      const spec = ref.specifier;
      const target = targetEnvironment(file.path, spec);
      const at = `imports '${spec}'`;
      if (target === 'outside') report(ref.line, 'outside-repo', `${at}, which leaves the source tree`);
      // (c) electron as a value: the composition root and the sandboxed preload only.
      if (isElectron(spec) && !ref.typeOnly && !ELECTRON_VALUE_ALLOWED.has(file.path)) {
        report(ref.line, 'electron-value', `${at} as a value; only ${[...ELECTRON_VALUE_ALLOWED].join(' and ')} may (use \`import type\`)`);
      }
      switch (env) {
        case 'shared': // (a) no Node, no DOM, no Electron, nothing from the other layers
          if (isNodeBuiltin(spec)) report(ref.line, 'shared-no-node', `${at}: shared/ must not use Node builtins`);
          if (isElectron(spec)) report(ref.line, 'shared-no-electron', `${at}: shared/ must not use electron`);
          if (isPackage(spec, DOM_PACKAGES)) report(ref.line, 'shared-no-dom', `${at}: shared/ must not use DOM packages`);
          if (isPackage(spec, NODE_ONLY_PACKAGES)) report(ref.line, 'shared-no-node', `${at}: shared/ must not use Node-only packages`);
          if (target && target !== 'shared' && target !== 'outside') report(ref.line, 'shared-self-contained', `${at}: shared/ must not depend on ${target}/`);
          break;
        case 'renderer': // (b) DOM only; talks to main through window.koe
          if (isNodeBuiltin(spec)) report(ref.line, 'renderer-no-node', `${at}: the renderer has no Node`);
          if (isElectron(spec)) report(ref.line, 'renderer-no-electron', `${at}: the renderer must not use electron`);
          if (isPackage(spec, NODE_ONLY_PACKAGES)) report(ref.line, 'renderer-no-node', `${at}: Node-only package in the renderer`);
          if (target === 'main' || target === 'server' || target === 'preload') {
            report(ref.line, 'renderer-isolated', `${at}: the renderer reaches ${target}/ only through window.koe`);
          }
          break;
        case 'preload': // (d) the bridge only; sandboxed, so no Node builtins either
          if (target === 'main' || target === 'server' || target === 'renderer') {
            report(ref.line, 'preload-isolated', `${at}: preload/ must not depend on ${target}/`);
          }
          if (isNodeBuiltin(spec)) report(ref.line, 'preload-sandboxed', `${at}: the sandboxed preload has no Node builtins`);
          break;
        case 'server': // (e) the gateway knows nothing of the client
          if (isElectron(spec)) report(ref.line, 'server-no-electron', `${at}: the gateway must not use electron`);
          if (target === 'main' || target === 'preload' || target === 'renderer') {
            report(ref.line, 'server-isolated', `${at}: server/ must not depend on ${target}/`);
          }
          break;
        case 'main': // (f) Electron main: shared contracts only, never the renderer's or the gateway's code
          if (target === 'renderer' || target === 'server') {
            report(ref.line, 'main-isolated', `${at}: main/ talks to the renderer over IPC and to the gateway over HTTP, never by import`);
          }
          if (target === 'preload' && !ref.typeOnly) report(ref.line, 'main-isolated', `${at}: main/ must not load preload/ code (types only)`);
          break;
      }
    }
    if (env === 'shared') {
      for (const g of globalsUsed(file)) {
        report(g.line, 'shared-no-globals', `uses the global '${g.name}': shared/ runs in every environment`);
      }
    }
    if (file.path === 'preload/index.ts') {
      const electronValue = importsOf(file).some((r) => isElectron(r.specifier) && !r.typeOnly);
      if (!electronValue || !/\bcontextBridge\b/.test(file.text) || !/\bipcRenderer\b/.test(file.text)) {
        report(1, 'preload-bridge', 'the sandboxed preload must expose the API with contextBridge over ipcRenderer');
      }
    }
  }
  return out;
}

const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const SKIP_DIRS = new Set(['node_modules', 'out', 'dist', 'build', 'coverage']);

/** Reads every source file of the five environments under `root`. */
export function readSourceTree(root: string, dirs: readonly string[] = ENVIRONMENTS): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory() && !SKIP_DIRS.has(e.name)) walk(child);
      else if (e.isFile() && SOURCE_EXT.test(e.name)) files.push({ path: child, text: readFileSync(path.join(root, child), 'utf8') });
    }
  };
  for (const d of dirs) walk(d);
  return files;
}

/** Resolves a relative import of `from` to a file of `known` (TypeScript's extension rules), or null. */
export function resolveImport(from: string, specifier: string, known: ReadonlySet<string>): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.(m|c)?js$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, `${base}/index.ts`, `${base}/index.tsx`]) {
    if (known.has(candidate)) return candidate;
  }
  return null;
}

/** Each file's imports that resolve to a file of `files` (sorted). */
export function importGraph(files: readonly SourceFile[]): Map<string, string[]> {
  const known = new Set(files.map((f) => f.path));
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const to = new Set<string>();
    for (const ref of importsOf(f)) {
      const target = resolveImport(f.path, ref.specifier, known);
      if (target) to.add(target);
    }
    edges.set(f.path, [...to].sort());
  }
  return edges;
}

/**
 * Import cycles among `files`, type-only imports included (a cycle held together by types is
 * still two modules that cannot be understood or moved apart): one entry per strongly
 * connected component of the import graph, as a path that closes on itself (a -> b -> a).
 */
export function importCycles(files: readonly SourceFile[]): string[][] {
  const known = new Set(files.map((f) => f.path));
  const edges = importGraph(files);
  // Tarjan's strongly connected components, iterative (deep trees must not overflow the stack)
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  for (const root of [...known].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      const out = edges.get(top.node)!;
      if (top.next < out.length) {
        const w = out[top.next++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== top.node);
        const selfLoop = edges.get(top.node)!.includes(top.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  // a readable cycle through each component: the shortest path back to its first file
  return components.map((component) => {
    const members = new Set(component);
    const start = component[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    const seen = new Set([start]);
    while (queue.length) {
      const n = queue.shift()!;
      for (const w of edges.get(n)!) {
        if (!members.has(w)) continue;
        if (w === start) {
          const cycle = [start];
          for (let c: string | undefined = n; c && c !== start; c = prev.get(c)) cycle.splice(1, 0, c);
          return [...cycle, start];
        }
        if (!seen.has(w)) {
          seen.add(w);
          prev.set(w, n);
          queue.push(w);
        }
      }
    }
    return [...component, start];
  });
}

/** The renderer feature a file belongs to (`renderer/src/features/<name>/...`), or null. */
export function rendererFeatureOf(repoPath: string): string | null {
  const m = /^renderer\/src\/features\/([^/]+)\//.exec(repoPath);
  return m ? m[1]! : null;
}

/**
 * Cycles between renderer features, type-only imports included: feature A depends on feature B
 * when a file of A imports a file of B, directly or through files outside every feature (the
 * renderer's core: app/, koe.ts, gateway.ts ...), so a detour through the core hides no cycle.
 * A cycle between two features is one even when no cycle of files exists (phone/a -> customer/b
 * and customer/c -> phone/d). One entry per strongly connected component of the feature graph,
 * as feature names along a path that closes on itself (phone -> customer -> phone).
 */
export function featureCycles(files: readonly SourceFile[]): string[][] {
  const importsOfFile = importGraph(files);
  const depends = new Map<string, Set<string>>();
  for (const f of files) {
    const from = rendererFeatureOf(f.path);
    if (!from) continue;
    const deps = depends.get(from) ?? new Set<string>();
    depends.set(from, deps);
    // walk through non-feature files until a feature's file is reached
    const seen = new Set<string>([f.path]);
    const queue = [...importsOfFile.get(f.path)!];
    while (queue.length) {
      const next = queue.shift()!;
      if (seen.has(next)) continue;
      seen.add(next);
      const feature = rendererFeatureOf(next);
      if (feature) {
        if (feature !== from) deps.add(feature);
      } else if (next.startsWith('renderer/')) {
        queue.push(...importsOfFile.get(next)!);
      }
    }
  }
  // the feature graph as one synthetic module per feature, for importCycles' component finder
  const synthetic: SourceFile[] = [...depends].map(([feature, deps]) => ({
    path: `renderer/src/features/${feature}/index.ts`,
    text: [...deps].map((d) => `import '../${d}';`).join('\n'),
  }));
  return importCycles(synthetic).map((cycle) => cycle.map((p) => rendererFeatureOf(p)!));
}
