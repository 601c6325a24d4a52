/**
 * Downward API variables naming the pod the agent records Events on (`fieldRef: metadata.name`
 * ...): read by config/init.ts, written into the agent containers by inject/env.ts.
 */
export const ENV_POD_NAME = 'POD_NAME';
export const ENV_POD_NAMESPACE = 'POD_NAMESPACE';
export const ENV_POD_UID = 'POD_UID';
