{{/*
The secure default securityContext of a podkit container.
Usage:
{{ include "podkit.securityContext" . | nindent 10 }}
*/}}
{{- define "podkit.securityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
A podkit container for one component from its values block:
  image {registry, repository, tag, digest, pullPolicy}, adminPort, ports [{name, containerPort}],
  args, secrets {option: {secretName, key}} (env valueFrom: secrets come from existing Secrets only),
  secretFiles {option: path} (a file mounted from a Secret volume), extraEnvVars, volumeMounts,
  resources, containerSecurityContext (merged over the secure defaults), nativeSidecar (adds
  restartPolicy: Always for use in initContainers). A component that talks to the Kubernetes API
  (podkit.kubeApi.needed) also mounts the kube-api-access volume (podkit.kubeApi.volume).
Usage:
{{ include "podkit.container" (dict "component" "tls-proxy" "values" .Values.tlsProxy "context" $) | nindent 8 }}
*/}}
{{- define "podkit.container" -}}
{{- $v := .values -}}
{{- $component := .component -}}
- name: {{ $component }}
  image: {{ include "podkit.image" (dict "image" $v.image "context" .context) }}
  imagePullPolicy: {{ $v.image.pullPolicy | default "IfNotPresent" }}
  {{- if $v.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  {{- with $v.args }}
  args: {{- toYaml . | nindent 4 }}
  {{- end }}
  envFrom:
    - configMapRef:
        name: {{ include "podkit.configMapName" .context }}
  {{- if or $v.secrets $v.secretFiles $v.extraEnvVars }}
  env:
    {{- range $option, $ref := $v.secrets }}
    - name: {{ include "podkit.envName" (dict "component" $component "option" $option) }}
      valueFrom:
        secretKeyRef:
          name: {{ $ref.secretName | quote }}
          key: {{ $ref.key | quote }}
    {{- end }}
    {{- range $option, $path := $v.secretFiles }}
    - name: {{ include "podkit.envName" (dict "component" $component "option" $option) }}_FILE
      value: {{ $path | quote }}
    {{- end }}
    {{- with $v.extraEnvVars }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  ports:
    - name: {{ $v.adminPortName | default "admin" }}
      containerPort: {{ $v.adminPort }}
    {{- with $v.ports }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- /* db-health's /healthz and /startupz answer for the database: they go on the database's own
  container (adapters/db-health/README.md), never on the adapter, which a down database must not restart. */}}
  {{- if ne $component "db-health" }}
  startupProbe:
    httpGet: { path: /healthz, port: {{ $v.adminPort }} }
    periodSeconds: 2
    failureThreshold: 30
  livenessProbe:
    httpGet: { path: /healthz, port: {{ $v.adminPort }} }
    periodSeconds: 10
  {{- end }}
  readinessProbe:
    httpGet: { path: /readyz, port: {{ $v.adminPort }} }
    periodSeconds: 5
  {{- with $v.resources }}
  resources: {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- $defaults := include "podkit.securityContext" . | fromYaml }}
    {{- toYaml (mergeOverwrite $defaults ($v.containerSecurityContext | default dict)) | nindent 4 }}
  {{- $kubeApi := eq (include "podkit.kubeApi.needed" (dict "component" $component "values" $v)) "true" }}
  {{- if or $v.volumeMounts $kubeApi }}
  volumeMounts:
    {{- with $v.volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- if $kubeApi }}
    {{- include "podkit.kubeApi.volumeMount" . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/*
Where a component goes: "initContainers" when nativeSidecar is on (Kubernetes >= 1.29: it starts before
the app and does not keep a Job from completing), else "containers".
Usage:
{{ include "podkit.placement" .Values.tlsProxy }}
*/}}
{{- define "podkit.placement" -}}
{{- if .nativeSidecar }}initContainers{{ else }}containers{{ end -}}
{{- end -}}

{{/*
"true" when any enabled component signals the app (config-sync, git-pull): the pod then needs
shareProcessNamespace so the sidecar can see the app's process.
Usage:
shareProcessNamespace: {{ include "podkit.shareProcessNamespace" (list .Values.configSync .Values.gitPull) }}
*/}}
{{- define "podkit.shareProcessNamespace" -}}
{{- $share := false -}}
{{- range . }}{{ if and .enabled .signalsApp }}{{ $share = true }}{{ end }}{{ end -}}
{{- $share -}}
{{- end -}}

{{/*
Volumes podkit containers commonly need: a shared emptyDir, a cert Secret, a config ConfigMap, each
from {name, emptyDir|secretName|configMapName}.
Usage:
{{ include "podkit.volumes" .Values.podkitVolumes | nindent 8 }}
*/}}
{{- define "podkit.volumes" -}}
{{- range . }}
- name: {{ .name }}
  {{- if .secretName }}
  secret:
    secretName: {{ .secretName | quote }}
  {{- else if .configMapName }}
  configMap:
    name: {{ .configMapName | quote }}
  {{- else }}
  emptyDir: {{- toYaml (.emptyDir | default dict) | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
Fails the render on a key a component's values block does not know, so a typo in a values file
(`enabeld`, `optons`, `image.tg`) stops `helm install` instead of being ignored. `chartKeys` adds keys
the calling chart reads from the block itself. Call it for every block, enabled or not: `enabeld: true`
leaves a component off.
Usage:
{{ include "podkit.checkValues" (dict "component" "tls-proxy" "values" .Values.tlsProxy "chartKeys" (list "port")) }}
*/}}
{{- define "podkit.checkValues" -}}
{{- $known := concat (list "enabled" "nativeSidecar" "signalsApp" "image" "adminPort" "adminPortName" "options" "secrets" "secretFiles" "args" "ports" "extraEnvVars" "volumeMounts" "resources" "containerSecurityContext") (.chartKeys | default list) -}}
{{- range $key, $_ := .values -}}
{{- if not (has $key $known) -}}
{{- fail (printf "%s: unknown values key %q (known: %s)" $.component $key (join ", " $known)) -}}
{{- end -}}
{{- end -}}
{{- $imageKeys := list "registry" "repository" "tag" "digest" "pullPolicy" -}}
{{- range $key, $_ := (.values.image | default dict) -}}
{{- if not (has $key $imageKeys) -}}
{{- fail (printf "%s: unknown values key \"image.%s\" (known: %s)" $.component $key (join ", " $imageKeys)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
