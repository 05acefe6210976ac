package dev.registrypolicy.fakeapi;

import com.google.gson.JsonObject;

/**
 * An API error as the fake answers it: HTTP code plus a Kubernetes {@code Status} body. Thrown by
 * the fake's direct store methods too, so tests can assert on {@link #code()} and {@link
 * #reason()}.
 */
public final class StatusException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int code;
  private final String reason;
  private final String detailName;
  private final String detailGroup;
  private final String detailKind;

  public StatusException(int code, String reason, String message) {
    this(code, reason, message, null, null, null);
  }

  StatusException(int code, String reason, String message, String name, String group, String kind) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.detailName = name;
    this.detailGroup = group;
    this.detailKind = kind;
  }

  public int code() {
    return code;
  }

  public String reason() {
    return reason;
  }

  /** The {@code Status} object (kind Status, apiVersion v1, status Failure) for this error. */
  public JsonObject status() {
    JsonObject s = new JsonObject();
    s.addProperty("kind", "Status");
    s.addProperty("apiVersion", "v1");
    s.add("metadata", new JsonObject());
    s.addProperty("status", "Failure");
    s.addProperty("message", getMessage());
    s.addProperty("reason", reason);
    if (detailName != null || detailKind != null) {
      JsonObject d = new JsonObject();
      if (detailName != null) {
        d.addProperty("name", detailName);
      }
      if (detailGroup != null && !detailGroup.isEmpty()) {
        d.addProperty("group", detailGroup);
      }
      if (detailKind != null) {
        d.addProperty("kind", detailKind);
      }
      s.add("details", d);
    }
    s.addProperty("code", code);
    return s;
  }

  /** Kubernetes' usual reason for an HTTP code (what apimachinery puts in Status.reason). */
  public static String reasonFor(int code) {
    switch (code) {
      case 400:
        return "BadRequest";
      case 401:
        return "Unauthorized";
      case 403:
        return "Forbidden";
      case 404:
        return "NotFound";
      case 405:
        return "MethodNotAllowed";
      case 406:
        return "NotAcceptable";
      case 409:
        return "Conflict";
      case 410:
        return "Gone";
      case 413:
        return "RequestEntityTooLarge";
      case 415:
        return "UnsupportedMediaType";
      case 422:
        return "Invalid";
      case 429:
        return "TooManyRequests";
      case 500:
        return "InternalError";
      case 503:
        return "ServiceUnavailable";
      case 504:
        return "Timeout";
      default:
        return "Unknown";
    }
  }

  static StatusException of(int code, String message) {
    return new StatusException(code, reasonFor(code), message);
  }

  static StatusException badRequest(String message) {
    return new StatusException(400, "BadRequest", message);
  }

  static StatusException invalid(String message) {
    return new StatusException(422, "Invalid", message);
  }

  static StatusException notFound(ResourceType t, String name) {
    return new StatusException(
        404,
        "NotFound",
        t.qualifiedPlural() + " \"" + name + "\" not found",
        name,
        t.group(),
        t.plural());
  }

  static StatusException alreadyExists(ResourceType t, String name) {
    return new StatusException(
        409,
        "AlreadyExists",
        t.qualifiedPlural() + " \"" + name + "\" already exists",
        name,
        t.group(),
        t.plural());
  }

  static StatusException conflict(ResourceType t, String name) {
    return new StatusException(
        409,
        "Conflict",
        "Operation cannot be fulfilled on "
            + t.qualifiedPlural()
            + " \""
            + name
            + "\": the object has been modified; please apply your changes to the latest version"
            + " and try again",
        name,
        t.group(),
        t.plural());
  }

  static StatusException conflict(ResourceType t, String name, String why) {
    return new StatusException(
        409,
        "Conflict",
        "Operation cannot be fulfilled on " + t.qualifiedPlural() + " \"" + name + "\": " + why,
        name,
        t.group(),
        t.plural());
  }
}
