/**
 * Kubernetes access, shared by the components that call the API (config-sync, mysql-broker): where the
 * credentials come from and which namespace is meant. The namespace is decided in one place,
 * `resolveNamespace` in lib/kube.ts. Imports only lib/options, so other components read it cheaply.
 */

import { opt } from '../options.js';

export const kubeOptions = {
  namespace: opt.string({
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    expect: 'a Kubernetes namespace name',
    description:
      "Namespace to work in; default: the kubeconfig context's (with --kubeconfig or $KUBECONFIG), else the pod's own.",
  }),
  kubeconfig: opt.file({
    mustExist: true,
    description: "Kubeconfig file; default: $KUBECONFIG, else the pod's service account.",
  }),
};
