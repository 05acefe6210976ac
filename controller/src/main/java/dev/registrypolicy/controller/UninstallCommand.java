package dev.registrypolicy.controller;

import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.admission.AdmissionReconcilerClient;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code uninstall}: removes everything the controller made and nothing else, planned from the
 * cluster as it is ({@link UninstallSnapshot}, {@link UninstallPlan}) and applied through the
 * reconcilers' own write calls ({@link UninstallChange}). Read, plan and apply repeat until a read
 * finds nothing left (a change that lost a race to another writer is planned again from the fresh
 * read), at most {@link #MAX_ROUNDS} times. A write that fails for any other reason stops the
 * command: the line names the object and the cause, then one line per change left, and the exit
 * code is 1; a second run picks up from the cluster as it then is.
 */
final class UninstallCommand {
  /** Read-plan-apply rounds at most; the last one finds nothing left when all went well. */
  static final int MAX_ROUNDS = 5;

  private static final Logger LOG = Logger.getLogger(UninstallCommand.class.getName());

  static final String HELP =
      String.join(
          "\n",
          "usage: " + ControllerMain.NAME + " uninstall [--dry-run] [--verbose]",
          "Removes everything the controller made, and nothing else, before the controller itself is",
          "removed. Found from the cluster as it is now: objects labelled",
          Labels.MANAGED_BY_SELECTOR + ", and ServiceAccounts annotated",
          Desired.SA_ANNOTATION + ". In this order:",
          "  - ValidatingAdmissionPolicyBindings, ValidatingAdmissionPolicies, Validating- and",
          "    MutatingWebhookConfigurations with the label;",
          "  - from each annotated ServiceAccount: the imagePullSecrets entries the annotation names, and",
          "    the annotation; every other entry stays, in its place (JSON Patch guarded by the",
          "    resourceVersion);",
          "  - Secrets with the label in every namespace: pull Secrets, the node credentials bundle, the",
          "    webhook's TLS Secret (one that cert-manager or anyone else made has no label and stays);",
          "  - the status ConfigMap " + Policy.NAMESPACE + "/" + Reconciler.STATUS_CONFIGMAP + ";",
          "  - the agents' report Leases in "
              + Policy.NAMESPACE
              + " labelled "
              + NodeReport.SELECTOR
              + " (agents",
          "    that still run write theirs again; those go with the namespace).",
          "Every delete is guarded by the object's uid: an object re-made by someone else since it was",
          "read is not touched. A second run changes nothing. One log line per change, a summary at the end.",
          "Stop the controller first (delete its Deployment or scale it to 0), or it makes everything again:",
          "a held Lease "
              + LeaseCheck.leaseName()
              + " is waited for (at most "
              + LeaseCheck.MAX_WAIT.toSeconds()
              + " s) and a",
          "renewal seen meanwhile ends the command with nothing changed.",
          "The API server: as for run (KUBECONFIG, else the in-cluster ServiceAccount, else ~/.kube/config).",
          "  --dry-run   print what would be removed and change nothing (the Lease is only reported)",
          "  --verbose   stack traces with errors",
          "exit codes: 0 nothing of the controller's is left (--dry-run: the plan was printed),",
          "            1 something is left (the last lines say what and why) or a controller still runs,",
          "            2 usage error or a KUBECONFIG file that does not exist");

  private UninstallCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err, Map<String, String> env) {
    int[] exit = new int[1];
    Flags f =
        ControllerMain.flags(
            "uninstall",
            args,
            List.of(Flags.Spec.flag("--dry-run"), Flags.Spec.flag("--verbose")),
            out,
            err,
            exit);
    if (f == null) {
      return exit[0];
    }
    boolean dryRun = f.isSet("--dry-run");
    ClusterConfig.Loaded cfg;
    try {
      cfg = ClusterConfig.load(env);
    } catch (ClusterConfig.ConfigException e) {
      err.println("uninstall: " + e.getMessage());
      return e.exitCode;
    }
    Log.configure(Level.INFO, f.isSet("--verbose"), cfg.server(), err);
    LOG.info(
        Log.kv(
            "uninstall",
            "server",
            cfg.server(),
            "config",
            cfg.source(),
            "dry_run",
            dryRun,
            "version",
            ControllerMain.version()));
    ApiClient client = cfg.client();
    return uninstall(
        client, dryRun, LeaseCheck.api(client), Instant::now, d -> Thread.sleep(d.toMillis()));
  }

  /** The command on a client; the Lease's reader, the clock and the sleeper are the tests'. */
  static int uninstall(
      ApiClient client,
      boolean dryRun,
      LeaseCheck.Reader lease,
      Supplier<Instant> clock,
      LeaseCheck.Sleeper sleeper) {
    Tally done = new Tally();
    try {
      if (dryRun) {
        LeaseCheck.Seen seen = lease.read();
        if (seen.heldAt(clock.get())) {
          LOG.warning(
              Log.kv(
                  "a controller seems to run",
                  "lease",
                  LeaseCheck.leaseName(),
                  "holder",
                  seen.holder(),
                  "renewed_seconds_ago",
                  Duration.between(seen.renewTime().toInstant(), clock.get()).toSeconds(),
                  "action",
                  "a real run waits for the Lease to expire and stops if it is renewed"));
        }
      } else {
        LeaseCheck.Verdict v = LeaseCheck.await(lease, clock, sleeper);
        if (!v.free()) {
          LOG.severe(
              Log.kv(
                  "a controller still runs; nothing was changed",
                  "lease",
                  LeaseCheck.leaseName(),
                  "reason",
                  v.message()));
          return ControllerMain.INVALID;
        }
      }
      UninstallChange.Targets targets =
          new UninstallChange.Targets(
              new ApiWrites(client, Controller.LEASE_NAME),
              new AdmissionReconcilerClient(client, (reason, message) -> {}));
      boolean leasesDeleted = false;
      for (int round = 1; round <= MAX_ROUNDS; round++) {
        List<UninstallChange> plan = UninstallPlan.of(UninstallSnapshot.read(client));
        if (dryRun) {
          for (UninstallChange c : plan) {
            LOG.info(Log.kv("would be " + c.verb(), c.fields()));
            done.add(c);
          }
          LOG.info(Log.kv("dry run: nothing changed", done.summary("planned_")));
          return ControllerMain.OK;
        }
        boolean onlyReports =
            !plan.isEmpty()
                && plan.stream().allMatch(c -> c instanceof UninstallChange.DeleteLease);
        if (onlyReports && leasesDeleted) {
          LOG.info(
              Log.kv(
                  "uninstall done: nothing of the controller's is left; running agents wrote"
                      + " their report Leases again",
                  concat(
                      done.summary(""),
                      "report_leases_rewritten",
                      plan.size(),
                      "action",
                      "they go when the agent is stopped and the namespace deleted")));
          return ControllerMain.OK;
        }
        if (plan.isEmpty()) {
          LOG.info(
              Log.kv(
                  done.writes() == 0
                      ? "uninstall done: nothing of the controller's was left"
                      : "uninstall done: nothing of the controller's is left",
                  done.summary("")));
          return ControllerMain.OK;
        }
        if (onlyReports) {
          // Agents that still run (they are stopped after this command) write their report again
          // at their next renewal: one pass over the reports is all this command does for them.
          leasesDeleted = true;
        }
        Applied a = apply(plan, targets, done);
        if (a.failedAt() >= 0) {
          List<UninstallChange> left = plan.subList(a.failedAt(), plan.size());
          for (UninstallChange c : left) {
            LOG.warning(Log.kv("left", c.fields()));
          }
          LOG.severe(
              Log.kv(
                  "uninstall incomplete",
                  concat(
                      done.summary(""),
                      "left",
                      left.size(),
                      "action",
                      "run uninstall again once the cause above is fixed")));
          return ControllerMain.INVALID;
        }
      }
      LOG.severe(
          Log.kv(
              "uninstall incomplete",
              concat(
                  done.summary(""),
                  "rounds",
                  MAX_ROUNDS,
                  "action",
                  "the controller's objects kept changing while this command ran (is a controller"
                      + " still running?); run uninstall again")));
      return ControllerMain.INVALID;
    } catch (UninstallSnapshot.ReadException e) {
      LOG.log(
          Level.SEVERE,
          Log.kv(
              "uninstall incomplete: cannot read the cluster",
              concat(
                  new Object[] {"what", e.what},
                  concat(
                      done.summary(""),
                      "action",
                      "nothing more was changed; run uninstall again once the cause is fixed"))),
          e.getCause());
      return ControllerMain.INVALID;
    } catch (ApiException e) {
      LOG.log(
          Level.SEVERE,
          Log.kv(
              "cannot read the Lease",
              "lease",
              LeaseCheck.leaseName(),
              "action",
              "nothing was changed; run uninstall again once the cause is fixed"),
          e);
      return ControllerMain.INVALID;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      LOG.severe(Log.kv("uninstall interrupted", done.summary("")));
      return ControllerMain.INVALID;
    } catch (RuntimeException e) {
      // An answer the client cannot read (not the JSON it expects), or a failure of its own.
      LOG.log(
          Level.SEVERE,
          Log.kv(
              "uninstall incomplete: unexpected failure",
              concat(
                  done.summary(""),
                  "action",
                  "nothing more was changed; run uninstall again (--verbose for a stack trace)")),
          e);
      return ControllerMain.INVALID;
    }
  }

  /**
   * Where a round stopped: {@code failedAt} is the index of the change that failed (and stopped the
   * command), or -1.
   */
  private record Applied(int failedAt) {}

  /**
   * Applies the plan in order. A change whose object is gone (404) is skipped; one that lost a race
   * (409: the uid or resourceVersion no longer match; 422: the patch's resourceVersion test failed)
   * ends the round, to be planned again from a fresh read; any other failure stops the command.
   */
  private static Applied apply(List<UninstallChange> plan, UninstallChange.Targets t, Tally done) {
    for (int i = 0; i < plan.size(); i++) {
      UninstallChange c = plan.get(i);
      try {
        c.apply(t);
        done.add(c);
        LOG.info(Log.kv(c.verb(), c.fields()));
      } catch (ApiException e) {
        int code = e.getCode();
        if (code == 404) {
          LOG.info(Log.kv("already gone", c.fields()));
        } else if (code == 409 || code == 422) {
          LOG.info(
              Log.kv(
                  "changed since it was read; reading the cluster again",
                  concat(c.fields(), "code", code)));
          return new Applied(-1);
        } else {
          LOG.log(
              Level.SEVERE,
              Log.kv(
                  "cannot " + (c.verb().equals("patched") ? "patch" : "delete"),
                  concat(c.fields(), "action", "stopped here; what is left follows")),
              e);
          return new Applied(i);
        }
      }
    }
    return new Applied(-1);
  }

  private static Object[] concat(Object[] a, Object... b) {
    Object[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Changes made (or, in a dry run, planned) by kind. */
  private static final class Tally {
    int admission;
    int serviceAccounts;
    int entriesRemoved;
    int entriesKept;
    int secrets;
    int configMaps;
    int leases;

    void add(UninstallChange c) {
      if (c instanceof UninstallChange.DeleteAdmissionObject) {
        admission++;
      } else if (c instanceof UninstallChange.PatchServiceAccount p) {
        serviceAccounts++;
        entriesRemoved += p.removed().size();
        entriesKept += p.kept().size();
      } else if (c instanceof UninstallChange.DeleteSecret) {
        secrets++;
      } else if (c instanceof UninstallChange.DeleteLease) {
        leases++;
      } else {
        configMaps++;
      }
    }

    int writes() {
      return admission + serviceAccounts + secrets + configMaps + leases;
    }

    Object[] summary(String prefix) {
      List<Object> kv = new ArrayList<>();
      kv.addAll(List.of(prefix + "admission_objects_deleted", admission));
      kv.addAll(List.of(prefix + "service_accounts_patched", serviceAccounts));
      kv.addAll(List.of(prefix + "entries_removed", entriesRemoved));
      kv.addAll(List.of(prefix + "entries_kept", entriesKept));
      kv.addAll(List.of(prefix + "secrets_deleted", secrets));
      kv.addAll(List.of(prefix + "configmaps_deleted", configMaps));
      kv.addAll(List.of(prefix + "report_leases_deleted", leases));
      kv.addAll(List.of(prefix + "writes", writes()));
      return kv.toArray();
    }
  }
}
