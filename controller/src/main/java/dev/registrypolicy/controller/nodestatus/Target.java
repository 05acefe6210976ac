package dev.registrypolicy.controller.nodestatus;

/**
 * What nodes are compared with.
 *
 * @param policySha256 the policy in force: the last valid policy text's SHA-256 ({@code
 *     Policy.sha256()}), null before any valid policy
 * @param policyNote why the ConfigMap's current text is not that policy (invalid or missing), null
 *     when it is: agents also keep the last valid policy, so nodes are compared with it and the
 *     summary says so rather than counting every node as behind
 * @param bundleRevision the node credentials bundle's revision, null when there is no bundle or it
 *     has no revision yet (bundles are then not compared)
 */
public record Target(String policySha256, String policyNote, String bundleRevision) {}
