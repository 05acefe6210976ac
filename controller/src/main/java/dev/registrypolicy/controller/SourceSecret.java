package dev.registrypolicy.controller;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A Secret in the policy's namespace that the policy references, reduced to what the controller
 * needs. {@link #toString()} never shows data.
 */
final class SourceSecret {
  static final String DOCKERCONFIGJSON_TYPE = dev.registrypolicy.common.DockerConfigJson.TYPE;
  static final String BASIC_AUTH_TYPE = dev.registrypolicy.common.DockerConfigJson.BASIC_AUTH_TYPE;

  private final String name;
  private final String type;
  private final Map<String, byte[]> data;

  SourceSecret(String name, String type, Map<String, byte[]> data) {
    this.name = Objects.requireNonNull(name, "name");
    this.type = type == null ? "Opaque" : type;
    TreeMap<String, byte[]> copy = new TreeMap<>();
    data.forEach((k, v) -> copy.put(k, v.clone()));
    this.data = copy;
  }

  String name() {
    return name;
  }

  String type() {
    return type;
  }

  byte[] get(String key) {
    byte[] v = data.get(key);
    return v == null ? null : v.clone();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SourceSecret s)) {
      return false;
    }
    if (!s.name.equals(name) || !s.type.equals(type) || !s.data.keySet().equals(data.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : data.entrySet()) {
      if (!Arrays.equals(e.getValue(), s.data.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + data.keySet().hashCode();
  }

  @Override
  public String toString() {
    return "SourceSecret[name=" + name + ", type=" + type + ", keys=" + data.keySet() + "]";
  }
}
