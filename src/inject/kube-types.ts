/**
 * The parts of the Kubernetes Pod API the injector reads or writes, as plain JSON shapes (what an
 * AdmissionReview or a manifest holds). Declared here, not taken from client-node, whose classes
 * are for its own (de)serializer and whose import would pull IO into pure code. Every other
 * field is kept as it came, through the index signatures.
 */

export interface OwnerReference {
  readonly kind?: string;
  readonly controller?: boolean;
  readonly [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { apiVersion: string; fieldPath: string } };
  [field: string]: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  [field: string]: unknown;
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
  [field: string]: unknown;
}

export interface HttpProbe {
  httpGet: { path: string; port: number };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  volumeMounts?: VolumeMount[];
  ports?: ContainerPort[];
  restartPolicy?: string;
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  resources?: ResourceRequirements;
  securityContext?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: { fsGroup?: unknown; [field: string]: unknown };
  shareProcessNamespace?: boolean;
  [field: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: PodSpec;
  [field: string]: unknown;
}
