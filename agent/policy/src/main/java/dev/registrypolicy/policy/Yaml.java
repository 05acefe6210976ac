package dev.registrypolicy.policy;

import java.util.ArrayList;
import java.util.List;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.ComposerException;
import org.snakeyaml.engine.v2.exceptions.ConstructorException;
import org.snakeyaml.engine.v2.exceptions.DuplicateKeyException;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Loads YAML (1.2 core schema) into plain maps, lists and scalars. Errors are reported by line,
 * column and a fixed category only ({@code undefined alias}, {@code unknown tag}, ...): the
 * engine's own messages quote the source line, alias names, tags and characters, any of which may
 * be a secret someone pasted into the policy.
 */
public final class Yaml {
  private static final int MAX_CODE_POINTS = 4 * 1024 * 1024;

  private Yaml() {}

  private static Load loader() {
    return new Load(LoadSettings.builder()
        .setAllowDuplicateKeys(false)
        .setMaxAliasesForCollections(50)
        .setAllowRecursiveKeys(false)
        .setCodePointLimit(MAX_CODE_POINTS)
        .setSchema(new CoreSchema())
        .build());
  }

  /** Loads a single-document text; problems are reported at {@code path}. */
  public static Object loadOne(String text, String path, List<Problem> problems) {
    List<Object> docs = loadAll(text, path, problems);
    if (docs == null) {
      return null;
    }
    if (docs.size() > 1) {
      problems.add(new Problem(path, "expected one YAML document, found " + docs.size()));
      return null;
    }
    return docs.isEmpty() ? null : docs.get(0);
  }

  /** Loads every document of a text; null documents (empty {@code ---} sections) are dropped. */
  public static List<Object> loadAll(String text, String path, List<Problem> problems) {
    if (text.length() > MAX_CODE_POINTS) {
      problems.add(new Problem(path, "document too large (" + text.length() + " characters)"));
      return null;
    }
    try {
      List<Object> out = new ArrayList<>();
      for (Object o : loader().loadAllFromString(text)) {
        if (o != null) {
          out.add(o);
        }
      }
      return out;
    } catch (MarkedYamlEngineException e) {
      Mark mark = e.getProblemMark().orElse(e.getContextMark().orElse(null));
      String where = mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
      problems.add(new Problem(path, "invalid YAML" + where + ": " + category(e)));
      return null;
    } catch (YamlEngineException e) {
      problems.add(new Problem(path, "invalid YAML: " + e.getClass().getSimpleName()));
      return null;
    }
  }

  /** Engine messages that quote nothing from the text, passed on as they are. */
  private static final List<String> FIXED_MESSAGES = List.of(
      "mapping values are not allowed here",
      "mapping keys are not allowed here",
      "sequence entries are not allowed here",
      "could not find expected ':'",
      "found unexpected end of stream",
      "found unexpected document separator",
      "found unknown escape character",
      "found duplicate YAML directive",
      "duplicate tag handle");

  /** What went wrong, in words of this class: never the engine's text, which may quote the input. */
  static String category(MarkedYamlEngineException e) {
    String p = e.getProblem() == null ? "" : e.getProblem();
    if (e instanceof DuplicateKeyException || p.startsWith("found duplicate key")) {
      return "duplicate key";
    }
    if (p.startsWith("found undefined alias")) {
      return "undefined alias";
    }
    if (p.startsWith("could not determine a constructor")) {
      return "unknown tag";
    }
    if (p.startsWith("found undefined tag handle")) {
      return "undefined tag handle";
    }
    if (p.startsWith("Number of aliases")) {
      return "too many aliases";
    }
    if (p.startsWith("Recursive key") || p.startsWith("found unconstructable recursive")) {
      return "recursive alias";
    }
    if (p.contains("cannot start any token")) {
      return p.contains("(TAB)") ? "a tab where a token must start (indent with spaces)" : "a character that cannot start any token";
    }
    if (FIXED_MESSAGES.contains(p)) {
      return p;
    }
    if (e instanceof ComposerException) {
      return "invalid alias, anchor or document structure";
    }
    if (e instanceof ConstructorException) {
      return "value cannot be read";
    }
    return "syntax error";
  }
}
