{{/*
The chart name, shortened to 63 characters (a DNS label).
*/}}
{{- define "todo-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name: <release>-<chart>, or the release name when it already holds the chart
name. Kept to 54 characters so "-frontend" still fits a 63-character name.
*/}}
{{- define "todo-app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "todo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels. Call with (dict "root" $ "component" "backend"); component may be empty.
*/}}
{{- define "todo-app.labels" -}}
helm.sh/chart: {{ include "todo-app.chart" .root }}
{{ include "todo-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: {{ include "todo-app.name" .root }}
{{- end }}

{{/*
Selector labels: only the stable ones (name, instance, component), never the version.
*/}}
{{- define "todo-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-app.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/*
Per-component resource names.
*/}}
{{- define "todo-app.backend.fullname" -}}
{{- printf "%s-backend" (include "todo-app.fullname" .) }}
{{- end }}

{{- define "todo-app.frontend.fullname" -}}
{{- printf "%s-frontend" (include "todo-app.fullname" .) }}
{{- end }}

{{- define "todo-app.database.fullname" -}}
{{- printf "%s-database" (include "todo-app.fullname" .) }}
{{- end }}

{{- define "todo-app.configmap.fullname" -}}
{{- printf "%s-config" (include "todo-app.fullname" .) }}
{{- end }}

{{/*
An image reference. Call with (dict "root" $ "image" .Values.backend.image). The tag defaults to
the chart's appVersion; "latest" is refused here as well as by the schema.
*/}}
{{- define "todo-app.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag | toString }}
{{- if eq $tag "latest" }}
{{- fail "image tag \"latest\" is not allowed: set a content-derived tag (see values.yaml)" }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The name of the Secret the pods read (keys COHERE_API_KEY, DATABASE_URL, JWT_SECRET; see values.yaml):
secrets.existingSecret, or "<fullname>-secrets" by default. The chart never renders a Secret: it must
exist in the release namespace (the orchestrator writes a versioned one and passes its name).
*/}}
{{- define "todo-app.secretName" -}}
{{- default (printf "%s-secrets" (include "todo-app.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/*
Pod-level security context (Pod Security Standards "restricted").
*/}}
{{- define "todo-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container-level security context (Pod Security Standards "restricted").
*/}}
{{- define "todo-app.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
An HTTP probe. Call with (dict "probe" .Values.backend.probes.liveness).
*/}}
{{- define "todo-app.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: http
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
successThreshold: 1
{{- end }}

{{/*
The rolling update strategy shared by both Deployments.
*/}}
{{- define "todo-app.strategy" -}}
revisionHistoryLimit: 10
progressDeadlineSeconds: {{ .Values.rollout.progressDeadlineSeconds }}
strategy:
  type: RollingUpdate
  rollingUpdate:
    maxUnavailable: 0
    maxSurge: {{ .Values.rollout.maxSurge }}
{{- end }}

{{/*
A HorizontalPodAutoscaler on CPU. Call with (dict "root" $ "component" "backend" "values" .Values.backend).
*/}}
{{- define "todo-app.hpa" -}}
{{- $fullname := printf "%s-%s" (include "todo-app.fullname" .root) .component }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  namespace: {{ .root.Release.Namespace | quote }}
  labels:
    {{- include "todo-app.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ max .values.autoscaling.maxReplicas .values.autoscaling.minReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}

{{/*
A PodDisruptionBudget selecting one component's pods. Call like todo-app.hpa.
*/}}
{{- define "todo-app.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ printf "%s-%s" (include "todo-app.fullname" .root) .component }}
  namespace: {{ .root.Release.Namespace | quote }}
  labels:
    {{- include "todo-app.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  minAvailable: {{ .values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "todo-app.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- end }}

{{/*
The replicas line of a Deployment: left out while an autoscaler owns the count, so an upgrade does
not reset what the autoscaler chose. Call with the component's values.
*/}}
{{- define "todo-app.replicas" -}}
{{- if not .autoscaling.enabled }}
replicas: {{ .replicas }}
{{- end }}
{{- end }}

{{/*
Spread a component's pods across nodes (hard) and zones (soft). Call with (dict "root" $ "component" "backend").
A node without the zone label is not counted for the zone constraint; with ScheduleAnyway it is
still eligible (kube-scheduler pkg/scheduler/framework/plugins/podtopologyspread).
*/}}
{{- define "todo-app.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ .root.Values.topologySpread.maxSkew }}
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels:
        {{- include "todo-app.selectorLabels" . | nindent 8 }}
  - maxSkew: {{ .root.Values.topologySpread.maxSkew }}
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "todo-app.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end }}
