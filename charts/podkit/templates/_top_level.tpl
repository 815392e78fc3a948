{{/*
Fails the render on a top-level values key the chart does not know, so a typo at the top of a values
file (`replicaCont`, `tlsProxi`) stops `helm install` instead of being ignored. helm hides the chart's
own values.yaml from templates, so the chart passes its keys; a test keeps that list equal to them.
`global` is helm's own, and `podkit` the (empty) values of this library, which helm adds as a dependency.
Usage:
{{ include "podkit.checkTopLevelValues" (dict "known" (list "replicaCount" "image") "values" .Values) }}
*/}}
{{- define "podkit.checkTopLevelValues" -}}
{{- range $key, $_ := .values -}}
{{- if not (or (has $key $.known) (has $key (list "global" "podkit"))) -}}
{{- fail (printf "values: unknown top-level key %q (known: %s)" $key (join ", " $.known)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
