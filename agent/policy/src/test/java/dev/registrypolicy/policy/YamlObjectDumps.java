package dev.registrypolicy.policy;

/**
 * Generated dumps of cluster objects as {@code kubectl get pods -A -o yaml} prints them: a List of
 * Pods, each with what the API server adds (uid, resourceVersion, managedFields, ownerReferences,
 * status), about 4.7 KB and 356 YAML nodes per Pod. Shared with the controller's tests through the
 * model's test-jar.
 */
public final class YamlObjectDumps {
  private YamlObjectDumps() {}

  /** A List of {@code pods} Pods over {@code namespaces} namespaces (Namespaces first). */
  public static String pods(int pods, int namespaces) {
    StringBuilder sb = new StringBuilder(pods * 5_200 + namespaces * 300);
    sb.append("apiVersion: v1\nitems:\n");
    for (int n = 0; n < namespaces; n++) {
      sb.append("- apiVersion: v1\n  kind: Namespace\n  metadata:\n")
          .append("    creationTimestamp: \"2025-01-02T03:04:05Z\"\n")
          .append("    labels:\n      kubernetes.io/metadata.name: ns-")
          .append(n)
          .append("\n      env: ")
          .append(n % 2 == 0 ? "prod" : "dev")
          .append("\n    name: ns-")
          .append(n)
          .append("\n    resourceVersion: \"")
          .append(1000 + n)
          .append("\"\n    uid: ")
          .append(uid(n))
          .append("\n  spec:\n    finalizers:\n    - kubernetes\n  status:\n    phase: Active\n");
    }
    for (int i = 0; i < pods; i++) {
      pod(sb, i, "ns-" + (i % Math.max(1, namespaces)));
    }
    sb.append("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    return sb.toString();
  }

  private static String uid(int i) {
    return String.format(java.util.Locale.ROOT, "%08x-1b2c-4d3e-8f40-%012x", i, (long) i * 7919);
  }

  private static void pod(StringBuilder sb, int i, String ns) {
    String app = "app-" + (i / 3);
    String name = app + "-7d9c8b6f5-" + String.format(java.util.Locale.ROOT, "%05d", i);
    String image =
        switch (i % 4) {
          case 0 -> "registry.corp.example/team/" + app + ":1." + (i % 10);
          case 1 -> "nginx:1.27";
          case 2 -> "quay.io/someone/" + app + ":latest";
          default -> "ghcr.io/corp/" + app + "@sha256:" + "0123456789abcdef".repeat(4);
        };
    sb.append("- apiVersion: v1\n  kind: Pod\n  metadata:\n")
        .append(
            "    annotations:\n      kubectl.kubernetes.io/restartedAt: \"2025-01-02T03:04:05Z\"\n")
        .append("    creationTimestamp: \"2025-01-02T03:04:05Z\"\n")
        .append("    generateName: ")
        .append(app)
        .append("-7d9c8b6f5-\n    labels:\n      app: ")
        .append(app)
        .append("\n      pod-template-hash: 7d9c8b6f5\n")
        .append("    managedFields:\n")
        .append("    - apiVersion: v1\n      fieldsType: FieldsV1\n      fieldsV1:\n")
        .append("        f:metadata:\n          f:generateName: {}\n          f:labels:\n")
        .append("            .: {}\n            f:app: {}\n            f:pod-template-hash: {}\n")
        .append("          f:ownerReferences:\n            .: {}\n            k:{\"uid\":\"")
        .append(uid(i / 3))
        .append("\"}: {}\n        f:spec:\n          f:containers:\n")
        .append("            k:{\"name\":\"main\"}:\n              .: {}\n              f:env:\n")
        .append("                .: {}\n                k:{\"name\":\"LOG_LEVEL\"}:\n")
        .append(
            "                  .: {}\n                  f:name: {}\n                  f:value: {}\n")
        .append("              f:image: {}\n              f:imagePullPolicy: {}\n")
        .append("              f:name: {}\n              f:ports:\n                .: {}\n")
        .append("                k:{\"containerPort\":8080,\"protocol\":\"TCP\"}:\n")
        .append("                  .: {}\n                  f:containerPort: {}\n")
        .append("                  f:protocol: {}\n              f:resources:\n")
        .append(
            "                .: {}\n                f:limits: {}\n                f:requests: {}\n")
        .append("          f:dnsPolicy: {}\n          f:restartPolicy: {}\n")
        .append("          f:schedulerName: {}\n          f:terminationGracePeriodSeconds: {}\n")
        .append("      manager: kube-controller-manager\n      operation: Update\n")
        .append("      time: \"2025-01-02T03:04:05Z\"\n")
        .append("    - apiVersion: v1\n      fieldsType: FieldsV1\n      fieldsV1:\n")
        .append("        f:status:\n          f:conditions:\n")
        .append("            k:{\"type\":\"Ready\"}:\n              .: {}\n")
        .append("              f:lastProbeTime: {}\n              f:lastTransitionTime: {}\n")
        .append("              f:status: {}\n              f:type: {}\n")
        .append(
            "          f:containerStatuses: {}\n          f:hostIP: {}\n          f:phase: {}\n")
        .append("          f:podIP: {}\n          f:startTime: {}\n")
        .append("      manager: kubelet\n      operation: Update\n      subresource: status\n")
        .append("      time: \"2025-01-02T03:04:09Z\"\n")
        .append("    name: ")
        .append(name)
        .append("\n    namespace: ")
        .append(ns)
        .append(
            "\n    ownerReferences:\n    - apiVersion: apps/v1\n      blockOwnerDeletion: true\n")
        .append("      controller: true\n      kind: ReplicaSet\n      name: ")
        .append(app)
        .append("-7d9c8b6f5\n      uid: ")
        .append(uid(i / 3))
        .append("\n    resourceVersion: \"")
        .append(200_000 + i)
        .append("\"\n    uid: ")
        .append(uid(1_000_000 + i))
        .append(
            "\n  spec:\n    containers:\n    - env:\n      - name: LOG_LEVEL\n        value: info\n")
        .append("      image: ")
        .append(image)
        .append("\n      imagePullPolicy: IfNotPresent\n      name: main\n      ports:\n")
        .append("      - containerPort: 8080\n        protocol: TCP\n      resources:\n")
        .append("        limits:\n          memory: 256Mi\n        requests:\n")
        .append("          cpu: 100m\n          memory: 128Mi\n")
        .append("      terminationMessagePath: /dev/termination-log\n")
        .append("      terminationMessagePolicy: File\n      volumeMounts:\n")
        .append("      - mountPath: /var/run/secrets/kubernetes.io/serviceaccount\n")
        .append("        name: kube-api-access-")
        .append(String.format(java.util.Locale.ROOT, "%05d", i))
        .append("\n        readOnly: true\n")
        .append("    dnsPolicy: ClusterFirst\n    enableServiceLinks: true\n")
        .append("    nodeName: node-")
        .append(i % 50)
        .append("\n    preemptionPolicy: PreemptLowerPriority\n    priority: 0\n")
        .append("    restartPolicy: Always\n    schedulerName: default-scheduler\n")
        .append("    securityContext: {}\n    serviceAccount: default\n")
        .append("    serviceAccountName: default\n    terminationGracePeriodSeconds: 30\n")
        .append("    tolerations:\n    - effect: NoExecute\n")
        .append("      key: node.kubernetes.io/not-ready\n      operator: Exists\n")
        .append("      tolerationSeconds: 300\n    - effect: NoExecute\n")
        .append("      key: node.kubernetes.io/unreachable\n      operator: Exists\n")
        .append("      tolerationSeconds: 300\n    volumes:\n    - name: kube-api-access-")
        .append(String.format(java.util.Locale.ROOT, "%05d", i))
        .append("\n      projected:\n        defaultMode: 420\n        sources:\n")
        .append("        - serviceAccountToken:\n            expirationSeconds: 3607\n")
        .append("            path: token\n        - configMap:\n            items:\n")
        .append("            - key: ca.crt\n              path: ca.crt\n")
        .append("            name: kube-root-ca.crt\n        - downwardAPI:\n            items:\n")
        .append("            - fieldRef:\n                apiVersion: v1\n")
        .append("                fieldPath: metadata.namespace\n              path: namespace\n")
        .append("  status:\n    conditions:\n    - lastProbeTime: null\n")
        .append("      lastTransitionTime: \"2025-01-02T03:04:09Z\"\n      status: \"True\"\n")
        .append("      type: Ready\n    containerStatuses:\n")
        .append("    - containerID: containerd://")
        .append("0123456789abcdef".repeat(4))
        .append("\n      image: ")
        .append(image)
        .append("\n      imageID: sha256:")
        .append("fedcba9876543210".repeat(4))
        .append("\n      lastState: {}\n      name: main\n      ready: true\n")
        .append("      restartCount: 0\n      started: true\n      state:\n        running:\n")
        .append("          startedAt: \"2025-01-02T03:04:08Z\"\n")
        .append("    hostIP: 10.0.")
        .append(i % 50)
        .append(".1\n    phase: Running\n    podIP: 10.244.")
        .append((i / 250) % 250)
        .append('.')
        .append(i % 250)
        .append("\n    qosClass: Burstable\n")
        .append("    startTime: \"2025-01-02T03:04:05Z\"\n");
  }
}
