package dev.registrypolicy.fakeapi;

import java.util.Map;

/**
 * One HTTP call the fake received. Interceptors see it before it is served, with {@code code} 0;
 * the request log holds it with the HTTP code that was answered (for a watch, the code of the
 * stream's headers, logged when the stream starts).
 *
 * @param method HTTP method, upper case
 * @param path raw request path, e.g. /api/v1/namespaces/a/serviceaccounts/default
 * @param query decoded query string ("" when none)
 * @param params decoded query parameters (first value of each)
 * @param contentType request Content-Type without parameters, or null
 * @param resource plural resource name addressed (e.g. "serviceaccounts"), null for discovery
 * @param namespace namespace in the path, or null
 * @param name object name in the path, or null
 * @param subresource subresource in the path (e.g. "status"), or null
 * @param body request body as text ("" when none)
 * @param code HTTP status answered, 0 while not yet served
 */
public record Request(
    String method,
    String path,
    String query,
    Map<String, String> params,
    String contentType,
    String resource,
    String namespace,
    String name,
    String subresource,
    String body,
    int code) {

  public String param(String key) {
    return params.get(key);
  }

  public boolean isWatch() {
    String w = params.get("watch");
    return "GET".equals(method)
        && ("true".equalsIgnoreCase(w) || "1".equals(w) || path.contains("/watch/"));
  }

  /** Anything but GET and HEAD. */
  public boolean isWrite() {
    return !"GET".equals(method) && !"HEAD".equals(method);
  }

  Request withCode(int c) {
    return new Request(
        method, path, query, params, contentType, resource, namespace, name, subresource, body, c);
  }

  @Override
  public String toString() {
    return method
        + " "
        + path
        + (query.isEmpty() ? "" : "?" + query)
        + (contentType == null ? "" : " [" + contentType + "]")
        + " -> "
        + code;
  }
}
