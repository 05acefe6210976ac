package dev.registrypolicy.policy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Parse;
import org.snakeyaml.engine.v2.events.AliasEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.events.NodeEvent;
import org.snakeyaml.engine.v2.events.ScalarEvent;
import org.snakeyaml.engine.v2.exceptions.ComposerException;
import org.snakeyaml.engine.v2.exceptions.ConstructorException;
import org.snakeyaml.engine.v2.exceptions.DuplicateKeyException;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlVersionException;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Loads YAML (1.2 core schema) into plain maps, lists and scalars. Errors are reported by line,
 * column and a fixed category only ({@code undefined alias}, {@code unknown tag}, ...): the
 * engine's own messages quote the source line, alias names, tags and characters, any of which may
 * be a secret someone pasted into the policy.
 *
 * <p>Hostile input is read in two passes. First the engine's event stream (its parser keeps an
 * explicit stack, it does not recurse) is checked against {@link PolicyLimits}: size, nesting
 * depth, aliases that refer to a collection still open (a recursive structure), the number of
 * aliases, the number of nodes counting what aliases repeat, the length of scalars and the number
 * of documents. Only a text that passes is composed into objects, whose recursion is then bounded
 * by {@link PolicyLimits#MAX_DEPTH} and whose size by {@link PolicyLimits#MAX_NODES}.
 */
public final class Yaml {
  private Yaml() {}

  private static LoadSettings settings(int maxBytes) {
    return LoadSettings.builder()
        .setAllowDuplicateKeys(false)
        .setMaxAliasesForCollections(PolicyLimits.MAX_ALIASES)
        .setAllowRecursiveKeys(false)
        .setCodePointLimit(maxBytes)
        .setSchema(new CoreSchema())
        .build();
  }

  /** Loads a single-document text of at most {@link PolicyLimits#MAX_POLICY_BYTES}; problems are reported at {@code path}. */
  public static Object loadOne(String text, String path, List<Problem> problems) {
    List<Object> docs = loadAll(text, path, problems, PolicyLimits.MAX_POLICY_BYTES);
    if (docs == null) {
      return null;
    }
    if (docs.size() > 1) {
      problems.add(new Problem(path, "expected one YAML document, found " + docs.size()));
      return null;
    }
    return docs.isEmpty() ? null : docs.get(0);
  }

  /**
   * Loads every document of a text of at most {@link PolicyLimits#MAX_FILE_BYTES}; null
   * documents (empty {@code ---} sections) are dropped.
   */
  public static List<Object> loadAll(String text, String path, List<Problem> problems) {
    return loadAll(text, path, problems, PolicyLimits.MAX_FILE_BYTES);
  }

  static List<Object> loadAll(String text, String path, List<Problem> problems, int maxBytes) {
    long bytes = utf8Length(text, maxBytes);
    if (bytes > maxBytes) {
      problems.add(new Problem(path, "too large: more than " + maxBytes + " bytes (" + (maxBytes >> 10) + " KiB)"));
      return null;
    }
    LoadSettings settings = settings(maxBytes);
    try {
      String limit = check(new Parse(settings).parseReader(new ChunkReader(text)));
      if (limit != null) {
        problems.add(new Problem(path, limit));
        return null;
      }
      List<Object> out = new ArrayList<>();
      for (Object o : new Load(settings).loadAllFromReader(new ChunkReader(text))) {
        if (o != null) {
          out.add(o);
        }
      }
      return out;
    } catch (MarkedYamlEngineException e) {
      Mark mark = e.getProblemMark().orElse(e.getContextMark().orElse(null));
      problems.add(new Problem(path, "invalid YAML" + where(mark) + ": " + category(e)));
      return null;
    } catch (ReaderException e) {
      problems.add(new Problem(path, "invalid YAML" + where(text, e.getPosition()) + ": character U+"
          + String.format("%04X", e.getCodePoint()) + " is not allowed in YAML (control characters must be escaped in a double-quoted string)"));
      return null;
    } catch (YamlVersionException e) {
      problems.add(new Problem(path, "invalid YAML: unsupported %YAML version (want 1.2, or no %YAML line)"));
      return null;
    } catch (YamlEngineException e) {
      // Unmarked engine errors (limits the checks above should already have caught).
      String m = e.getMessage() == null ? "" : e.getMessage();
      problems.add(new Problem(path, "invalid YAML: " + (m.startsWith("Number of aliases") ? "too many aliases (at most "
          + PolicyLimits.MAX_ALIASES + ")" : m.contains("exceeds the limit") ? "too large" : "the document cannot be read")));
      return null;
    }
  }

  /**
   * Reads a string, handing out one character less than asked for. snakeyaml-engine 2.10's
   * {@code StreamReader} fills its whole buffer and, when the last character is a high
   * surrogate, reads one more into the same buffer past its end ({@code IndexOutOfBoundsException}
   * for an emoji at character 1024 of a chunk); leaving one place free avoids that.
   */
  private static final class ChunkReader extends java.io.Reader {
    private final String text;
    private int pos;

    ChunkReader(String text) {
      this.text = text;
    }

    @Override
    public int read(char[] buf, int off, int len) {
      if (pos >= text.length()) {
        return -1;
      }
      int n = Math.min(len > 1 ? len - 1 : len, text.length() - pos);
      text.getChars(pos, pos + n, buf, off);
      pos += n;
      return n;
    }

    @Override
    public void close() {}
  }

  /** UTF-8 length of {@code s}, counting no further than just past {@code max}. */
  static long utf8Length(String s, int max) {
    if (s.length() > max) {
      return (long) max + 1;
    }
    long n = 0;
    for (int i = 0; i < s.length() && n <= max; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** One open collection while streaming: its anchor (or null) and the nodes counted inside it so far. */
  private static final class Open {
    final String anchor;
    long nodes = 1;

    Open(String anchor) {
      this.anchor = anchor;
    }
  }

  /**
   * Streams the events and checks them against the limits; the first limit exceeded, as a
   * message with line and column, or null. Syntax errors propagate with their mark.
   */
  private static String check(Iterable<Event> events) {
    int documents = 0;
    long nodes = 0;
    int aliases = 0;
    ArrayDeque<Open> open = new ArrayDeque<>();
    Set<String> openAnchors = new HashSet<>();
    Map<String, Long> anchorNodes = new HashMap<>();
    for (Event e : events) {
      Mark mark = e.getStartMark().orElse(null);
      long added = 0;
      switch (e.getEventId()) {
        case DocumentStart:
          if (++documents > PolicyLimits.MAX_DOCUMENTS) {
            return "more than " + PolicyLimits.MAX_DOCUMENTS + " YAML documents" + where(mark);
          }
          nodes = 0;
          aliases = 0;
          anchorNodes.clear();
          break;
        case MappingStart:
        case SequenceStart: {
          if (open.size() >= PolicyLimits.MAX_DEPTH) {
            return "nested deeper than " + PolicyLimits.MAX_DEPTH + " levels" + where(mark);
          }
          String anchor = anchor((NodeEvent) e);
          if (anchor != null) {
            openAnchors.add(anchor);
          }
          open.push(new Open(anchor)); // its size is added to its parent when it closes
          nodes++;
          break;
        }
        case MappingEnd:
        case SequenceEnd: {
          Open done = open.pop();
          if (done.anchor != null) {
            openAnchors.remove(done.anchor);
            anchorNodes.put(done.anchor, done.nodes);
          }
          if (!open.isEmpty()) {
            open.peek().nodes += done.nodes;
          }
          break;
        }
        case Scalar: {
          ScalarEvent s = (ScalarEvent) e;
          if (s.getValue().length() > PolicyLimits.MAX_POLICY_BYTES) {
            return "a value longer than " + PolicyLimits.MAX_POLICY_BYTES + " characters" + where(mark);
          }
          String anchor = anchor(s);
          if (anchor != null) {
            anchorNodes.put(anchor, 1L);
            openAnchors.remove(anchor); // from here on the name is this scalar's
          }
          added = 1;
          break;
        }
        case Alias: {
          String name = ((AliasEvent) e).getAlias().getValue();
          if (openAnchors.contains(name)) {
            return "recursive alias" + where(mark) + " (an alias inside the collection it names)";
          }
          if (++aliases > PolicyLimits.MAX_ALIASES) {
            return "more than " + PolicyLimits.MAX_ALIASES + " aliases" + where(mark);
          }
          Long n = anchorNodes.get(name);
          added = n == null ? 1 : n; // an undefined alias is reported by the loader, with its mark
          break;
        }
        default:
          break;
      }
      if (added > 0) {
        if (!open.isEmpty()) {
          open.peek().nodes += added;
        }
        nodes += added;
      }
      if (nodes > PolicyLimits.MAX_NODES) {
        return "more than " + PolicyLimits.MAX_NODES + " YAML nodes in one document (aliases count as what they repeat)"
            + where(mark);
      }
    }
    return null;
  }

  private static String anchor(NodeEvent e) {
    return e.getAnchor().map(a -> a.getValue()).orElse(null);
  }

  private static String where(Mark mark) {
    return mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
  }

  /** Line and column of a code point offset into {@code text}. */
  private static String where(String text, int codePointOffset) {
    int line = 1;
    int col = 1;
    int cp = 0;
    for (int i = 0; i < text.length() && cp < codePointOffset; i++, cp++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length()) {
        i++;
      }
      if (c == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    return " at line " + line + ", column " + col;
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
