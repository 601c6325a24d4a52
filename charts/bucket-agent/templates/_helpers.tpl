{{/*
Names. Every name ends up in a flag the webhook checks as a DNS-1123 label (63 characters at
most), and "-tls" is appended to the webhook's name for its Secret and Lease: hence 59.
*/}}
{{- define "bucket-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bucket-agent.fullname" -}}
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

{{/* The webhook's Service, its MutatingWebhookConfiguration and Deployment: `--service`, `--webhook-config`. */}}
{{- define "bucket-agent.webhookName" -}}
{{- printf "%s-webhook" (include "bucket-agent.fullname" .) | trunc 59 | trimSuffix "-" }}
{{- end }}

{{/* `--tls-secret` and `--lease` (self mode), or cert-manager's Certificate and its Secret. */}}
{{- define "bucket-agent.tlsName" -}}
{{- printf "%s-tls" (include "bucket-agent.webhookName" .) }}
{{- end }}

{{- define "bucket-agent.serviceAccountName" -}}
{{- default (include "bucket-agent.webhookName" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "bucket-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "bucket-agent.labels" -}}
helm.sh/chart: {{ include "bucket-agent.chart" . }}
{{ include "bucket-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: bucket-agent
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "bucket-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bucket-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* repository[:tag][@digest] */}}
{{- define "bucket-agent.imageRef" -}}
{{- $ref := .repository }}
{{- if .tag }}{{ $ref = printf "%s:%s" $ref .tag }}{{ end }}
{{- if .digest }}{{ $ref = printf "%s@%s" $ref .digest }}{{ end }}
{{- $ref }}
{{- end }}

{{/* The webhook's image. */}}
{{- define "bucket-agent.image" -}}
{{- include "bucket-agent.imageRef" (dict "repository" .Values.image.repository "tag" (default .Chart.AppVersion .Values.image.tag) "digest" .Values.image.digest) }}
{{- end }}

{{/* The injected agent's image (`--agent-image`): the webhook's unless agent.image says otherwise. */}}
{{- define "bucket-agent.agentImage" -}}
{{- $a := .Values.agent.image }}
{{- $repository := default .Values.image.repository $a.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) $a.tag }}
{{- $digest := $a.digest }}
{{- if and (not $digest) (or (not $a.repository) (eq $a.repository .Values.image.repository)) (not $a.tag) }}
{{- $digest = .Values.image.digest }}
{{- end }}
{{- include "bucket-agent.imageRef" (dict "repository" $repository "tag" $tag "digest" $digest) }}
{{- end }}

{{/* `--native-sidecars`: true/false as given, auto from the cluster's version (native sidecars are on by default from 1.29). */}}
{{- define "bucket-agent.nativeSidecars" -}}
{{- $v := toString .Values.agent.nativeSidecars }}
{{- if eq $v "auto" }}
{{- semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version | toString }}
{{- else }}
{{- $v }}
{{- end }}
{{- end }}

{{/* TLS mode of the webhook. */}}
{{- define "bucket-agent.selfTls" -}}
{{- if not .Values.certManager.enabled }}true{{ end }}
{{- end }}
