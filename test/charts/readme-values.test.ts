/**
 * Each component README's "Chart values" block renders with the real helm: through a one-container chart
 * that uses the podkit library as any user's chart would, and through legacy-app (whose values schema then
 * checks its types). The container gets the component's admin port, and every PODKIT_* variable the
 * block makes is one the component reads: an option misspelt in a README fails here.
 */

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { components } from '../../components.js';
import { commonOptions } from '../../lib/component.js';
import { unknownEnv } from '../../lib/options.js';
import { helm, helmTemplate, type Manifest } from '../support/helm.js';
import { schemaProblems } from '../support/kube-schema.js';
import { repoRoot } from '../support/process.js';

/** A chart rendering one podkit container from the values block named by `valuesKey`. */
const podTemplate = `{{- $block := index .Values .Values.valuesKey }}
{{- $components := dict .Values.component $block }}
{{- include "podkit.checkValues" (dict "component" .Values.component "values" $block) }}
{{ include "podkit.configMap" (dict "components" $components "context" $) }}
---
apiVersion: v1
kind: Pod
metadata:
  name: example
  annotations: {{- include "podkit.checksumAnnotation" (dict "components" $components) | nindent 4 }}
spec:
  automountServiceAccountToken: false
  {{- if eq (include "podkit.shareProcessNamespace" (list $block)) "true" }}
  shareProcessNamespace: true
  {{- end }}
  containers:
    {{- include "podkit.container" (dict "component" .Values.component "values" $block "context" $) | nindent 4 }}
  volumes:
    - { name: scratch, emptyDir: {} }
    {{- range $block.volumeMounts }}
    - { name: {{ .name }}, emptyDir: {} }
    {{- end }}
    {{- if eq (include "podkit.kubeApi.any" (dict "components" $components)) "true" }}
    {{- include "podkit.kubeApi.volume" . | nindent 4 }}
    {{- end }}
`;

/** The YAML block of a README's "### Chart values" subsection. */
function chartValues(readme: string): string | undefined {
  const section = readme.split('\n### Chart values\n')[1]?.split('\n## ')[0];
  return section ? /^```yaml\n([\s\S]*?)^```$/m.exec(section)?.[1] : undefined;
}

const dir = t.testdir({
  'Chart.yaml': [
    'apiVersion: v2',
    'name: one-container',
    'version: 0.1.0',
    'appVersion: "0.1.0"',
    'dependencies:',
    '  - name: podkit',
    '    version: 0.1.0',
    `    repository: file://${join(repoRoot, 'charts/podkit')}`,
    '',
  ].join('\n'),
  templates: { 'pod.yaml': podTemplate },
});
const legacyApp = join(repoRoot, 'charts/legacy-app');

t.before(async () => {
  await helm(['dependency', 'build', dir]);
  await helm(['dependency', 'build', legacyApp]);
});

for (const [name, entry] of Object.entries(components)) {
  t.test(`${entry.dir}: its Chart values render as its container`, async (t) => {
    const block = chartValues(readFileSync(join(repoRoot, entry.dir, 'README.md'), 'utf8'));
    if (!block) return t.fail(`${entry.dir}/README.md has a yaml block under "### Chart values"`);
    const valuesKey = /^(\w+):/.exec(block)?.[1] ?? '';
    const valuesFile = join(dir, `${name}-values.yaml`);
    await writeFile(valuesFile, block);

    const manifests = await helmTemplate('example', dir, [
      '-f',
      valuesFile,
      '--set',
      `component=${name},valuesKey=${valuesKey}`,
    ]);
    for (const manifest of manifests)
      t.same(await schemaProblems(manifest), [], `${manifest.kind} matches its Kubernetes schema`);
    const config = manifests.find((m) => m.kind === 'ConfigMap');
    const container: Manifest = manifests.find((m) => m.kind === 'Pod')?.spec.containers[0];
    t.equal(container.name, name);
    t.equal(container.readinessProbe.httpGet.port, entry.adminPort, 'readiness on its admin port');
    t.match(container.ports, [{ name: 'admin', containerPort: entry.adminPort }]);
    const env = Object.fromEntries(
      [...Object.keys(config?.data ?? {}), ...(container.env ?? []).map((e: { name: string }) => e.name)].map(
        (key) => [key, 'set'],
      ),
    );
    t.ok(Object.keys(env).length > 0, 'it sets options');
    t.same(
      unknownEnv({ ...commonOptions(entry.adminPort), ...(await entry.options()) }, env, name),
      [],
      'every option is one it reads',
    );

    // legacy-app has the same values key; its schema checks the block's types.
    const legacy = await helmTemplate('legacy', legacyApp, ['-f', valuesFile]);
    const pod = legacy.find((m) => m.kind === 'Deployment')?.spec.template.spec;
    t.ok(
      [...(pod.initContainers ?? []), ...pod.containers].some((c: Manifest) => c.name === name),
      `legacy-app renders it from ${valuesKey}`,
    );
  });
}
