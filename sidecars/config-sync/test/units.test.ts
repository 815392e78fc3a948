/**
 * The pure parts, table-driven: key safety, merging ConfigMaps and Secrets, syntax validation, the HTTP
 * payload format, and content identity.
 */

import t from 'tap';
import { mergeObjects } from '../src/merge.js';
import { contentHash, sanitize, snapshot, topLevelNames, unsafeKeyReason } from '../src/snapshot.js';
import { parsePayload } from '../src/source-http.js';
import { checkSyntax, syntaxProblem } from '../src/validate.js';

const files = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([key, value]) => [key, Buffer.from(value)]));

t.test('unsafe keys are refused with the reason', async (t) => {
  const table: [string, RegExp | undefined][] = [
    ['app.conf', undefined],
    ['.env', undefined],
    ['dashboards/team-a/x.json', undefined],
    ['a..b', undefined],
    ['', /empty name/],
    ['../x', /traversal/],
    ['a/../../x', /traversal/],
    ['./x', /traversal/],
    ['/etc/passwd', /absolute/],
    ['..data', /reserved/],
    ['..2026_01_01', /reserved/],
    ['sub/..data', /reserved/],
    ['a//b', /empty path segment/],
    ['a/', /empty path segment/],
    ['nul\0byte', /NUL/],
    ['x'.repeat(256), /longer than 255 bytes/],
    [`${'d/'.repeat(2100)}x`, /longer than 4096 bytes/],
  ];
  for (const [key, expected] of table) {
    const reason = unsafeKeyReason(key);
    if (expected) t.match(reason, expected, JSON.stringify(key.slice(0, 30)));
    else t.equal(reason, undefined, JSON.stringify(key));
  }
});

t.test('sanitize drops unsafe keys and resolves file/folder clashes deterministically', async (t) => {
  const input = snapshot(
    files({ 'a/b': '2', a: '1', '../x': 'evil', 'ok.conf': 'ok', 'c/d': 'cd', 'c/e': 'ce' }),
    [{ key: 'from-source', reason: 'kept from the source', kind: 'conflict' }],
  );
  const { files: kept, refused } = sanitize(input);
  t.same([...kept.keys()], ['a', 'c/d', 'c/e', 'ok.conf']);
  t.same(
    refused.map((r) => [r.key, r.kind]),
    [
      ['from-source', 'conflict'],
      ['../x', 'unsafe'],
      ['a/b', 'conflict'],
    ],
  );
  t.match(refused[2]?.reason, /clashes with a: a name cannot be a file and a folder/);
  t.same([...topLevelNames(kept.keys())], ['a', 'c', 'ok.conf']);
});

t.test('mergeObjects: data, binaryData, Secrets, folders, and who wins a clash', async (t) => {
  const cm = (name: string, data: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', ...extra },
    data,
  });
  const merged = mergeObjects(
    [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'a-secret' },
        data: { 'shared.conf': b64('secret'), token: b64('s3cr3t') },
      },
      cm('zeta', { 'shared.conf': 'from zeta' }),
      cm('alpha', { 'shared.conf': 'from alpha' }),
      { ...cm('bin', {}), binaryData: { 'logo.png': Buffer.from([0, 1, 2, 255]).toString('base64') } },
      cm('dash', { 'x.json': '{}' }, { annotations: { folder: 'dashboards/team-a/' } }),
      cm('abs', { 'y.json': '{}' }, { annotations: { folder: '/config/abs' } }),
      cm('root', { 'r.txt': 'r' }, { annotations: { folder: '/config' } }),
      cm('outside', { 'z.json': '{}' }, { annotations: { folder: '/etc' } }),
      cm('traversal', { 'w.txt': 'w' }, { annotations: { folder: '../up' } }),
    ],
    { folderAnnotation: 'folder', targetDir: '/config' },
  );
  t.same([...merged.files.keys()].sort(), [
    '../up/w.txt',
    'abs/y.json',
    'dashboards/team-a/x.json',
    'logo.png',
    'r.txt',
    'shared.conf',
    'token',
  ]);
  t.equal(merged.files.get('shared.conf')?.toString(), 'from alpha', 'ConfigMaps first, then by name');
  t.equal(merged.files.get('token')?.toString(), 's3cr3t', 'Secret data is base64');
  t.same([...(merged.files.get('logo.png') ?? [])], [0, 1, 2, 255], 'binaryData bytes intact');
  t.same(
    merged.refused.map((r) => r.reason),
    [
      'folder annotation "/etc" is outside --target-dir',
      'ConfigMap default/zeta also has it; ConfigMap default/alpha wins',
      'Secret /a-secret also has it; ConfigMap default/alpha wins',
    ],
  );
  // The traversal path is left for sanitize to refuse, like any unsafe key from any source.
  t.match(
    sanitize(merged).refused.find((r) => r.key === '../up/w.txt'),
    { kind: 'unsafe' },
  );

  const reversed = mergeObjects([cm('alpha', { k: '1' }), cm('zeta', { k: '2' })].reverse(), {
    targetDir: '/c',
  });
  t.equal(reversed.files.get('k')?.toString(), '1', 'input order does not matter');
});

t.test('syntax validation: auto by extension, json, yaml, none', async (t) => {
  const set = files({
    'good.json': '{"a": [1, 2]}',
    'good.yaml': 'a: 1\n---\nb: [1, 2]\n',
    'app.conf': '{not json at all',
  });
  t.doesNotThrow(() => checkSyntax(set, 'auto'), 'auto ignores files it has no checker for');
  t.throws(() => checkSyntax(set, 'json'), { key: 'app.conf', code: 'PODKIT_ERR_VALIDATION' });
  t.doesNotThrow(() => checkSyntax(set, 'none'));
  const table: [string, 'json' | 'yaml', RegExp | undefined][] = [
    ['{"a":1}', 'json', undefined],
    ['{"a":1', 'json', /^invalid JSON: /],
    ['a: 1\nb: [1, 2', 'yaml', /^invalid YAML: /],
    ['a: 1\n  b: 2\n', 'yaml', /^invalid YAML: /],
    ['key: value\nlist:\n  - 1\n', 'yaml', undefined],
    ['a: 1\na: 2\n', 'yaml', /^invalid YAML: .*unique/i],
  ];
  for (const [text, syntax, expected] of table) {
    const problem = syntaxProblem(Buffer.from(text), syntax);
    if (expected) t.match(problem, expected, `${syntax}: ${JSON.stringify(text)}`);
    else t.equal(problem, undefined, `${syntax}: ${JSON.stringify(text)}`);
  }
  t.equal(syntaxProblem(Buffer.from([0xff, 0xfe, 0x7b]), 'json'), 'not valid UTF-8');
  t.equal(
    syntaxProblem(Buffer.from('{"password": hunter2}'), 'json'),
    'invalid JSON: unexpected token',
    'no file content in a reason that gets logged (the file may come from a Secret)',
  );
  t.notMatch(syntaxProblem(Buffer.from('password: [hunter2'), 'yaml'), /hunter2/);
  t.throws(() => checkSyntax(files({ 'bad.yml': 'a: [', 'bad.json': '{' }), 'auto'), {
    message: /^bad\.json: invalid JSON/,
  });
});

t.test('HTTP payload: a JSON object of text, or the body as one file', async (t) => {
  t.same(
    [...parsePayload(Buffer.from('{"app.conf":"port = 1\\n","b":""}'))].map(([k, v]) => [k, v.toString()]),
    [
      ['app.conf', 'port = 1\n'],
      ['b', ''],
    ],
  );
  t.same(
    [...parsePayload(Buffer.from('raw bytes'), 'app.conf')].map(([k, v]) => [k, v.toString()]),
    [['app.conf', 'raw bytes']],
  );
  t.throws(() => parsePayload(Buffer.from('not json')), { message: /not JSON .*--http-key/ });
  t.throws(() => parsePayload(Buffer.from('[1,2]')), { message: /expected a JSON object/ });
  t.throws(() => parsePayload(Buffer.from('{"a":1}')), { message: /value of "a" is number, expected text/ });
});

t.test('content hash: same names and bytes, same hash; any difference, another', async (t) => {
  const base = contentHash(files({ a: 'x', b: 'y' }));
  t.equal(contentHash(files({ b: 'y', a: 'x' })), base, 'order does not matter');
  t.not(contentHash(files({ a: 'x', b: 'y ' })), base);
  t.not(contentHash(files({ a: 'xb', '': 'y' })), contentHash(files({ a: 'x', b: 'y' })));
  t.not(contentHash(files({ a: 'x' })), base);
});

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
