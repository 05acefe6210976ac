package dev.registrypolicy.policy;

import dev.registrypolicy.common.Utf8;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.snakeyaml.engine.v2.api.ConstructNode;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Parse;
import org.snakeyaml.engine.v2.events.AliasEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.events.MappingStartEvent;
import org.snakeyaml.engine.v2.events.NodeEvent;
import org.snakeyaml.engine.v2.events.ScalarEvent;
import org.snakeyaml.engine.v2.events.SequenceStartEvent;
import org.snakeyaml.engine.v2.exceptions.ComposerException;
import org.snakeyaml.engine.v2.exceptions.ConstructorException;
import org.snakeyaml.engine.v2.exceptions.DuplicateKeyException;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlVersionException;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Loads YAML (1.2 core schema) into plain maps, lists and scalars. Errors are reported by line,
 * column and a fixed category only ({@code undefined alias}, {@code unknown tag}, ...): the
 * engine's own messages quote the source line, alias names, tags and characters, any of which may
 * be a secret someone pasted into the policy.
 *
 * <p>Hostile input: the size in bytes is checked first; then objects are built straight from the
 * engine's event stream (its parser keeps an explicit stack, it does not recurse), with no node
 * tree in between and no recursion here, checked against {@link PolicyLimits} as they are built:
 * nesting depth, aliases that refer to a collection still open (a recursive structure), the number
 * of aliases, the number of nodes counting what aliases repeat, the length of scalars and the
 * number of documents. Memory is the objects themselves; anchors share one object.
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

  /**
   * Loads a single-document text of at most {@link PolicyLimits#MAX_POLICY_BYTES}; problems are
   * reported at {@code path}.
   */
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
   * Loads every document of a text of at most {@link PolicyLimits#MAX_FILE_BYTES}; null documents
   * (empty {@code ---} sections) are dropped.
   */
  public static List<Object> loadAll(String text, String path, List<Problem> problems) {
    return loadAll(text, path, problems, PolicyLimits.MAX_FILE_BYTES);
  }

  static List<Object> loadAll(String text, String path, List<Problem> problems, int maxBytes) {
    long bytes = utf8Length(text, maxBytes);
    if (bytes > maxBytes) {
      problems.add(
          new Problem(
              path, "too large: " + PolicyLimits.moreThan(maxBytes) + "; nothing was parsed"));
      return null;
    }
    try {
      Builder b = new Builder(maxBytes);
      String limit = b.build(new Parse(settings(maxBytes)).parseReader(new ChunkReader(text)));
      if (limit != null) {
        problems.add(new Problem(path, limit));
        return null;
      }
      return b.documents;
    } catch (MarkedYamlEngineException e) {
      Mark mark = e.getProblemMark().orElse(e.getContextMark().orElse(null));
      problems.add(new Problem(path, "invalid YAML" + where(mark) + ": " + category(e)));
      return null;
    } catch (ReaderException e) {
      problems.add(
          new Problem(
              path,
              "invalid YAML"
                  + where(text, e.getPosition())
                  + ": character U+"
                  + String.format("%04X", e.getCodePoint())
                  + " is not allowed in YAML (control characters must be escaped in a double-quoted string)"));
      return null;
    } catch (YamlVersionException e) {
      problems.add(
          new Problem(
              path, "invalid YAML: unsupported %YAML version (want 1.2, or no %YAML line)"));
      return null;
    } catch (YamlEngineException e) {
      // Unmarked engine errors: the stream itself could not be read.
      problems.add(new Problem(path, "invalid YAML: the document cannot be read"));
      return null;
    }
  }

  /**
   * Reads a string, handing out one character less than asked for. snakeyaml-engine 2.10's {@code
   * StreamReader} fills its whole buffer and, when the last character is a high surrogate, reads
   * one more into the same buffer past its end ({@code IndexOutOfBoundsException} for an emoji at
   * character 1024 of a chunk); leaving one place free avoids that.
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
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /**
   * One open collection while building: the container, its anchor, the pending mapping key, and its
   * node count.
   */
  private static final class Open {
    final Object container; // LinkedHashMap or ArrayList
    final String anchor;
    long nodes = 1;

    /** {@link Builder#chars} when this collection opened: what it holds is the difference. */
    long charsAtStart;

    boolean hasKey;
    Object key;
    Mark keyMark;

    Open(Object container, String anchor) {
      this.container = container;
      this.anchor = anchor;
    }
  }

  /**
   * Builds plain objects straight from the event stream, in one pass with an explicit stack (no
   * node tree, no recursion), checking the limits as it goes: depth, aliases (recursive, too many),
   * nodes counting what aliases repeat, scalar length, documents. Scalars are resolved and
   * constructed by the core schema; duplicate keys and tags other than the core schema's are
   * problems with their place.
   */
  private static final class Builder {
    private static final CoreSchema SCHEMA = new CoreSchema();
    private static final Map<Tag, ConstructNode> CONSTRUCTORS = SCHEMA.getSchemaTagConstructors();
    private static final String MAP_TAG = Tag.MAP.getValue();
    private static final String SEQ_TAG = Tag.SEQ.getValue();

    final List<Object> documents = new ArrayList<>();
    private final ArrayDeque<Open> open = new ArrayDeque<>();
    private final Set<String> openAnchors = new HashSet<>();
    private final Map<String, Object> anchored = new HashMap<>();
    private final Map<String, Long> anchorNodes = new HashMap<>();
    private final Map<String, Long> anchorChars = new HashMap<>();
    private final Map<String, String> shared = new HashMap<>();
    private Object root;
    private final int maxScalar;
    private long nodes;

    /**
     * Characters of scalar text in the document, counting what aliases repeat: a few aliases must
     * not make a small file stand for more text than {@link PolicyLimits#MAX_EXPANDED_CHARS}.
     */
    private long chars;

    private int aliases;

    Builder(int maxScalar) {
      this.maxScalar = maxScalar;
    }

    /**
     * The first limit or error, as a message with line and column, or null when every document was
     * built.
     */
    String build(Iterable<Event> events) {
      int docs = 0;
      for (Event e : events) {
        Mark mark = e.getStartMark().orElse(null);
        String problem = null;
        switch (e.getEventId()) {
          case DocumentStart -> {
            if (++docs > PolicyLimits.MAX_DOCUMENTS) {
              return "more than " + PolicyLimits.MAX_DOCUMENTS + " YAML documents" + where(mark);
            }
            nodes = 0;
            chars = 0;
            aliases = 0;
            root = null;
            anchored.clear();
            anchorNodes.clear();
            anchorChars.clear();
            openAnchors.clear();
          }
          case DocumentEnd -> {
            if (root != null) {
              documents.add(root);
            }
          }
          case MappingStart, SequenceStart -> {
            if (open.size() >= PolicyLimits.MAX_DEPTH) {
              return "nested deeper than " + PolicyLimits.MAX_DEPTH + " levels" + where(mark);
            }
            NodeEvent n = (NodeEvent) e;
            boolean isMap = e.getEventId() == Event.ID.MappingStart;
            String tag =
                isMap
                    ? ((MappingStartEvent) e).getTag().orElse(null)
                    : ((SequenceStartEvent) e).getTag().orElse(null);
            if (tag != null && !tag.equals("!") && !tag.equals(isMap ? MAP_TAG : SEQ_TAG)) {
              return "invalid YAML" + where(mark) + ": unknown tag";
            }
            String anchor = anchor(n);
            if (anchor != null) {
              openAnchors.add(anchor);
            }
            Open o = new Open(isMap ? new LinkedHashMap<>() : new ArrayList<>(), anchor);
            o.charsAtStart = chars;
            open.push(o);
            nodes++;
          }
          case MappingEnd, SequenceEnd -> {
            Open done = open.pop();
            if (done.anchor != null) {
              openAnchors.remove(done.anchor);
              anchored.put(done.anchor, done.container);
              anchorNodes.put(done.anchor, done.nodes);
              anchorChars.put(done.anchor, chars - done.charsAtStart);
            }
            problem = add(done.container, done.nodes, 0, mark);
          }
          case Scalar -> {
            ScalarEvent sc = (ScalarEvent) e;
            if (sc.getValue().length() > maxScalar) {
              return "a value longer than " + maxScalar + " characters" + where(mark);
            }
            if (Utf8.hasLoneSurrogate(sc.getValue())) {
              // "\ud800" in a double-quoted scalar: not Unicode text, so no file can hold it.
              return "invalid YAML"
                  + where(mark)
                  + ": a value holds an unpaired surrogate escape (not Unicode text)";
            }
            Object value;
            try {
              value = scalar(sc);
            } catch (RuntimeException ex) {
              return "invalid YAML" + where(mark) + ": value cannot be read";
            }
            if (value == UNKNOWN_TAG) {
              return "invalid YAML" + where(mark) + ": unknown tag";
            }
            if (value == LONG_NUMBER) {
              return "invalid YAML"
                  + where(mark)
                  + ": a number longer than "
                  + MAX_NUMBER_CHARS
                  + " characters";
            }
            chars += sc.getValue().length();
            String anchor = anchor(sc);
            if (anchor != null) {
              openAnchors.remove(anchor); // from here on the name is this scalar's
              anchored.put(anchor, value);
              anchorNodes.put(anchor, 1L);
              anchorChars.put(anchor, (long) sc.getValue().length());
            }
            if (value instanceof String && ((String) value).length() <= 32) {
              value =
                  shared.computeIfAbsent(
                      (String) value, v -> v); // keys and short values repeat: keep one copy
            }
            problem = add(value, 1, 1, mark);
          }
          case Alias -> {
            String name = ((AliasEvent) e).getAlias().getValue();
            if (openAnchors.contains(name)) {
              return "recursive alias" + where(mark) + " (an alias inside the collection it names)";
            }
            if (!anchored.containsKey(name)) {
              return "invalid YAML" + where(mark) + ": undefined alias";
            }
            if (++aliases > PolicyLimits.MAX_ALIASES) {
              return "more than " + PolicyLimits.MAX_ALIASES + " aliases" + where(mark);
            }
            long n = anchorNodes.get(name);
            chars += anchorChars.get(name);
            problem = add(anchored.get(name), n, n, mark);
          }
          default -> {
            // other events carry nothing to count
          }
        }
        if (problem != null) {
          return problem;
        }
        if (chars > PolicyLimits.MAX_EXPANDED_CHARS) {
          return "more than "
              + PolicyLimits.MAX_EXPANDED_CHARS
              + " characters of text in one document (aliases count as what they repeat)"
              + where(mark);
        }
        if (nodes > PolicyLimits.MAX_NODES) {
          return "more than "
              + PolicyLimits.MAX_NODES
              + " YAML nodes in one document (aliases count as what they repeat)"
              + where(mark);
        }
      }
      return null;
    }

    /**
     * Puts a finished value into the open collection (or makes it the document); counts its nodes.
     */
    @SuppressWarnings("unchecked")
    private String add(Object value, long size, long newNodes, Mark mark) {
      nodes += newNodes;
      Open parent = open.peek();
      if (parent == null) {
        root = value;
        return null;
      }
      parent.nodes += size;
      if (parent.container instanceof List) {
        ((List<Object>) parent.container).add(value);
        return null;
      }
      if (!parent.hasKey) {
        parent.hasKey = true;
        parent.key = value;
        parent.keyMark = mark;
        return null;
      }
      Map<Object, Object> m = (Map<Object, Object>) parent.container;
      if (m.containsKey(parent.key)) {
        return "invalid YAML" + where(parent.keyMark) + ": duplicate key";
      }
      m.put(parent.key, value);
      parent.hasKey = false;
      parent.key = null;
      return null;
    }

    private static final Object UNKNOWN_TAG = new Object();
    private static final Object LONG_NUMBER = new Object();
    private static final int MAX_NUMBER_CHARS = 64;

    private static Object scalar(ScalarEvent e) {
      String tagText = e.getTag().orElse(null);
      Tag tag;
      if (tagText == null || tagText.equals("!")) {
        tag =
            SCHEMA
                .getScalarResolver()
                .resolve(e.getValue(), e.getImplicit().canOmitTagInPlainScalar());
      } else {
        tag = new Tag(tagText);
      }
      if (tag.equals(Tag.STR)) {
        return e.getValue();
      }
      if (e.getValue().length() > MAX_NUMBER_CHARS
          && (tag.equals(Tag.INT) || tag.equals(Tag.FLOAT))) {
        return LONG_NUMBER; // reading a huge integer takes time quadratic in its length
      }
      ConstructNode c = CONSTRUCTORS.get(tag);
      if (c == null) {
        return UNKNOWN_TAG;
      }
      return c.construct(new ScalarNode(tag, e.getValue(), e.getScalarStyle()));
    }
  }

  private static String anchor(NodeEvent e) {
    return e.getAnchor().map(a -> a.getValue()).orElse(null);
  }

  private static String where(Mark mark) {
    return mark == null
        ? ""
        : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
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
  private static final List<String> FIXED_MESSAGES =
      List.of(
          "mapping values are not allowed here",
          "mapping keys are not allowed here",
          "sequence entries are not allowed here",
          "could not find expected ':'",
          "found unexpected end of stream",
          "found unexpected document separator",
          "found unknown escape character",
          "found duplicate YAML directive",
          "duplicate tag handle");

  /**
   * What went wrong, in words of this class: never the engine's text, which may quote the input.
   */
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
      return p.contains("(TAB)")
          ? "a tab where a token must start (indent with spaces)"
          : "a character that cannot start any token";
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
