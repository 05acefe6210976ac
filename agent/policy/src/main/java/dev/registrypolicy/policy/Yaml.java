package dev.registrypolicy.policy;

import java.util.ArrayList;
import java.util.List;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Loads YAML (1.2 core schema) into plain maps, lists and scalars. Syntax errors are reported by
 * line and column only: the engine's own messages quote the source line, which may hold a secret
 * someone pasted into the policy.
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
      String what = e.getProblem() == null ? "syntax error" : e.getProblem();
      if (what.startsWith("found duplicate key")) {
        what = "duplicate key";
      }
      problems.add(new Problem(path, "invalid YAML" + where + ": " + what));
      return null;
    } catch (YamlEngineException e) {
      problems.add(new Problem(path, "invalid YAML: " + e.getClass().getSimpleName()));
      return null;
    }
  }
}
