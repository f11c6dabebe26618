{{/*
Names and labels, as Helm's chart guide lays them out.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "stairway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resources' name: fullnameOverride, else the release's name with the chart's (once). */}}
{{- define "stairway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The helm.sh/chart label: name-version. */}}
{{- define "stairway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels every resource carries. */}}
{{- define "stairway.labels" -}}
helm.sh/chart: {{ include "stairway.chart" . | quote }}
{{ include "stairway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end }}

{{/* The labels that select this release's pods. */}}
{{- define "stairway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stairway.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "stairway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stairway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: repository@digest when a digest is given, else repository:tag (tag defaults to appVersion). */}}
{{- define "stairway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the database is SQLite. */}}
{{- define "stairway.sqlite" -}}
{{- if eq .Values.database.mode "sqlite" }}true{{ end }}
{{- end }}

{{/* The fewest pods that run: replicaCount, or the autoscaler's minimum when it owns the count. */}}
{{- define "stairway.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/*
Refuses values that cannot work, saying why. The schema checks each value on its own; these rules span values,
and Helm's schema validator would report them without the reason.
*/}}
{{- define "stairway.validate" -}}
{{- /* values.schema.json refuses more than one pod with sqlite; the PostgreSQL URL's Secret is checked here, to say how to make one. */}}
{{- if and (not (include "stairway.sqlite" .)) (not .Values.database.existingSecret) }}
{{- fail "database.existingSecret is required with database.mode=postgres: create a Secret holding the PostgreSQL URL (kubectl create secret generic stairway-database --from-literal=url=postgresql://USER:PASSWORD@HOST:5432/stairway) and set database.existingSecret=stairway-database; or set database.mode=sqlite for a single pod" }}
{{- end }}
{{- end }}

{{/* The environment of every Stairway container: the database, the configuration, the scorecards, secrets. */}}
{{- define "stairway.env" -}}
- name: STAIRWAY_DATABASE_URL
{{- if include "stairway.sqlite" . }}
  value: "sqlite:////var/lib/stairway/stairway.db"
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret | quote }}
      key: {{ .Values.database.secretKey | quote }}
{{- end }}
- name: STAIRWAY_CONFIG
  value: "/etc/stairway/stairway.yaml"
{{- if .Values.scorecards }}
- name: STAIRWAY_SCORECARDS
  value: "/etc/stairway/scorecards"
{{- end }}
- name: STAIRWAY_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- if ne (toString .Values.parserWorkers) "auto" }}
- name: STAIRWAY_WORKERS
  value: {{ .Values.parserWorkers | int | toString | quote }}
{{- end }}
{{- range .Values.secretEnv }}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName | quote }}
      key: {{ .key | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The volumes every Stairway container mounts: /tmp, the configuration, the scorecards, the SQLite volume. */}}
{{- define "stairway.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: config
  mountPath: /etc/stairway/stairway.yaml
  subPath: stairway.yaml
  readOnly: true
{{- if .Values.scorecards }}
- name: scorecards
  mountPath: /etc/stairway/scorecards
  readOnly: true
{{- end }}
{{- if include "stairway.sqlite" . }}
- name: data
  mountPath: /var/lib/stairway
{{- end }}
{{- end }}
