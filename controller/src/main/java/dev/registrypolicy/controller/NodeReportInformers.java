package dev.registrypolicy.controller;

import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.nodestatus.ReportLease;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseList;
import io.kubernetes.client.openapi.models.V1Node;
import io.kubernetes.client.openapi.models.V1NodeList;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The caches behind the node status: the agents' report Leases in the policy's namespace (selected
 * by {@link NodeReport#SELECTOR}, so the leader-election Lease and others' are not cached) and the
 * Nodes, trimmed to their names as they arrive (the status needs nothing else; a Node's status
 * carries its conditions, addresses and up to 50 image entries by default: kubelet
 * nodeStatusMaxImages, k8s.io/kubelet config/v1beta1 types.go). The trim bounds what the cache
 * holds, not what one list transfers: the first list of 5,000 Nodes is read whole before it is
 * trimmed.
 */
final class NodeReportInformers implements NodeStatusPass.View {
  private final SharedInformerFactory factory;
  private final SharedIndexInformer<V1Lease> leases;
  private final SharedIndexInformer<V1Node> nodes;

  NodeReportInformers(ApiClient client, long resyncMillis) {
    factory = new SharedInformerFactory(client);
    CoordinationV1Api coordination = new CoordinationV1Api(client);
    CoreV1Api core = new CoreV1Api(client);
    String ns = Policy.NAMESPACE;
    leases =
        LoggedInformers.create(
            client,
            factory,
            "node report Leases (" + NodeReport.SELECTOR + ") in namespace " + ns,
            p ->
                coordination
                    .listNamespacedLease(ns)
                    .labelSelector(NodeReport.SELECTOR)
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1Lease.class,
            V1LeaseList.class,
            resyncMillis);
    nodes =
        LoggedInformers.create(
            client,
            factory,
            "Nodes",
            p ->
                core.listNode()
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1Node.class,
            V1NodeList.class,
            resyncMillis,
            NodeReportInformers::trim);
  }

  /** Keeps a Node's name and uid only. */
  private static void trim(V1Node n) {
    V1ObjectMeta m = n.getMetadata();
    n.setSpec(null);
    n.setStatus(null);
    if (m != null) {
      n.setMetadata(
          new V1ObjectMeta()
              .name(m.getName())
              .uid(m.getUid())
              .resourceVersion(m.getResourceVersion()));
    }
  }

  /**
   * Calls {@code changed} when a Node comes or goes, or a report Lease comes, goes or changes what
   * it reports (holder, annotations, labels, duration). A renewal alone (renewTime) does not call
   * it: staleness is found by the controller's timer, so thousands of renewals cost nothing.
   */
  void onChange(Runnable changed) {
    leases.addEventHandler(
        new ResourceEventHandler<V1Lease>() {
          @Override
          public void onAdd(V1Lease l) {
            changed.run();
          }

          @Override
          public void onUpdate(V1Lease old, V1Lease l) {
            if (!sameReport(old, l)) {
              changed.run();
            }
          }

          @Override
          public void onDelete(V1Lease l, boolean deletedFinalStateUnknown) {
            changed.run();
          }
        });
    nodes.addEventHandler(
        new ResourceEventHandler<V1Node>() {
          @Override
          public void onAdd(V1Node n) {
            changed.run();
          }

          @Override
          public void onUpdate(V1Node old, V1Node n) {}

          @Override
          public void onDelete(V1Node n, boolean deletedFinalStateUnknown) {
            changed.run();
          }
        });
  }

  /** Whether two versions of a Lease report the same, renewTime aside. */
  static boolean sameReport(V1Lease a, V1Lease b) {
    if (a.getMetadata() == null || b.getMetadata() == null) {
      return false;
    }
    return Objects.equals(a.getMetadata().getAnnotations(), b.getMetadata().getAnnotations())
        && Objects.equals(a.getMetadata().getLabels(), b.getMetadata().getLabels())
        && Objects.equals(holder(a), holder(b))
        && Objects.equals(duration(a), duration(b));
  }

  private static String holder(V1Lease l) {
    return l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
  }

  private static Integer duration(V1Lease l) {
    return l.getSpec() == null ? null : l.getSpec().getLeaseDurationSeconds();
  }

  void start() {
    factory.startAllRegisteredInformers();
  }

  void stop() {
    factory.stopAllRegisteredInformers(true);
  }

  @Override
  public boolean hasSynced() {
    return leases.hasSynced() && nodes.hasSynced();
  }

  /** The names of the Nodes that exist. */
  @Override
  public Set<String> nodeNames() {
    Set<String> out = new HashSet<>();
    for (V1Node n : nodes.getIndexer().list()) {
      if (n.getMetadata() != null && n.getMetadata().getName() != null) {
        out.add(n.getMetadata().getName());
      }
    }
    return out;
  }

  /** Every report Lease, read tolerantly. */
  @Override
  public List<ReportLease> reports() {
    List<V1Lease> all = leases.getIndexer().list();
    List<ReportLease> out = new ArrayList<>(all.size());
    for (V1Lease l : all) {
      out.add(ReportLease.of(l));
    }
    return out;
  }
}
