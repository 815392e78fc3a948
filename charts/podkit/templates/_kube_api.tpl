{{/*
"true" when a component's values block makes it talk to the pod's own Kubernetes API (config-sync with
options.source kubernetes, mysql-broker with options.discovery kubernetes), else "false". Only such a
container gets the API token; every other container of the pod runs without one. With
options.kubeconfig (a file from a Secret in volumeMounts) the component calls the API server that file
names with its credentials: no service account, token or RBAC of this cluster is needed.
Usage:
{{ include "podkit.kubeApi.needed" (dict "component" "config-sync" "values" .Values.configSync) }}
*/}}
{{- define "podkit.kubeApi.needed" -}}
{{- $options := .values.options | default dict -}}
{{- if not .values.enabled -}}
false
{{- else if $options.kubeconfig -}}
false
{{- else if eq .component "config-sync" -}}
{{- eq (toString ($options.source | default "")) "kubernetes" -}}
{{- else if eq .component "mysql-broker" -}}
{{- eq (toString ($options.discovery | default "")) "kubernetes" -}}
{{- else -}}
false
{{- end -}}
{{- end -}}

{{/*
"true" when any component of `components` (name -> values block) needs the API: the pod then gets a
ServiceAccount, its RBAC and the kube-api-access volume.
Usage:
{{ include "podkit.kubeApi.any" (dict "components" $components) }}
*/}}
{{- define "podkit.kubeApi.any" -}}
{{- $any := false -}}
{{- range $component, $values := .components -}}
{{- if eq (include "podkit.kubeApi.needed" (dict "component" $component "values" $values)) "true" -}}
{{- $any = true -}}
{{- end -}}
{{- end -}}
{{- $any -}}
{{- end -}}

{{/*
The API token as the kubelet's own kube-api-access volume projects it (a short-lived, rotated token,
the cluster CA, the namespace), for pods that set automountServiceAccountToken: false and mount it only
in the containers that need it (podkit.container does so when podkit.kubeApi.needed).
Usage:
{{ include "podkit.kubeApi.volume" . | nindent 8 }}
*/}}
{{- define "podkit.kubeApi.volume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - { key: ca.crt, path: ca.crt }
      - downwardAPI:
          items:
            - path: namespace
              fieldRef: { apiVersion: v1, fieldPath: metadata.namespace }
{{- end -}}

{{/*
The mount of the kube-api-access volume where client libraries look for it.
Usage:
{{ include "podkit.kubeApi.volumeMount" . | nindent 4 }}
*/}}
{{- define "podkit.kubeApi.volumeMount" -}}
- name: kube-api-access
  mountPath: /var/run/secrets/kubernetes.io/serviceaccount
  readOnly: true
{{- end -}}
