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
import org.snakeyaml.engine.v2.resolver.ScalarResolver;
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
 *
 * <p>Two sets of limits: {@link Limits#POLICY} for the policy (the default of {@link
 * #loadAll(String, String, List)} and {@link #loadOne}), and {@link Limits#OBJECTS} for dumps of
 * cluster objects ({@code kubectl get pods -A -o yaml}), which are larger by nature; both refuse
 * the same hostile shapes with the same messages.
 */
public final class Yaml {
  private Yaml() {}

  /**
   * What one load may read. Sizes are checked before parsing, the rest while the events stream past
   * (see the class comment).
   *
   * @param maxBytes UTF-8 bytes of the whole text
   * @param maxScalarChars characters of one scalar
   * @param maxDepth mappings and lists inside one another
   * @param maxNodes YAML nodes of one document, each alias counting the nodes it repeats
   * @param maxExpandedChars characters of scalar text in one document, aliases counting what they
   *     repeat
   * @param maxAliases aliases in one document
   * @param maxDocuments documents in the text
   */
  public record Limits(
      int maxBytes,
      int maxScalarChars,
      int maxDepth,
      long maxNodes,
      long maxExpandedChars,
      int maxAliases,
      int maxDocuments) {
    /** A policy file: {@link PolicyLimits}, as they always were. */
    public static final Limits POLICY =
        new Limits(
            PolicyLimits.MAX_FILE_BYTES,
            PolicyLimits.MAX_FILE_BYTES,
            PolicyLimits.MAX_DEPTH,
            PolicyLimits.MAX_NODES,
            PolicyLimits.MAX_EXPANDED_CHARS,
            PolicyLimits.MAX_ALIASES,
            PolicyLimits.MAX_DOCUMENTS);

    /** The policy text alone (the ConfigMap key): {@link PolicyLimits#MAX_POLICY_BYTES}. */
    static final Limits POLICY_TEXT =
        new Limits(
            PolicyLimits.MAX_POLICY_BYTES,
            PolicyLimits.MAX_POLICY_BYTES,
            PolicyLimits.MAX_DEPTH,
            PolicyLimits.MAX_NODES,
            PolicyLimits.MAX_EXPANDED_CHARS,
            PolicyLimits.MAX_ALIASES,
            PolicyLimits.MAX_DOCUMENTS);

    /**
     * A dump of cluster objects ({@code kubectl get ns,pods,deployments,... -A -o yaml}, one List
     * document): {@link PolicyLimits#MAX_OBJECTS_FILE_BYTES}, with nodes and expanded text scaled
     * from the policy's by the same factor (so a dump may be as dense as a policy), one scalar as
     * large as the API server stores an object, and the policy's depth and alias limits, which no
     * real object needs more of.
     */
    public static final Limits OBJECTS =
        new Limits(
            PolicyLimits.MAX_OBJECTS_FILE_BYTES,
            PolicyLimits.MAX_FILE_BYTES,
            PolicyLimits.MAX_DEPTH,
            (long) PolicyLimits.MAX_NODES
                * PolicyLimits.MAX_OBJECTS_FILE_BYTES
                / PolicyLimits.MAX_FILE_BYTES,
            PolicyLimits.MAX_OBJECTS_FILE_BYTES,
            PolicyLimits.MAX_ALIASES,
            PolicyLimits.MAX_OBJECTS_DOCUMENTS);

    public Limits {
      if (maxBytes <= 0
          || maxScalarChars <= 0
          || maxDepth <= 0
          || maxNodes <= 0
          || maxExpandedChars <= 0
          || maxAliases < 0
          || maxDocuments <= 0) {
        throw new IllegalArgumentException("YAML limits must be positive");
      }
    }
  }

  private static LoadSettings settings(Limits limits) {
    return LoadSettings.builder()
        .setAllowDuplicateKeys(false)
        .setMaxAliasesForCollections(limits.maxAliases())
        .setAllowRecursiveKeys(false)
        .setCodePointLimit(limits.maxBytes())
        .setSchema(new CoreSchema())
        .build();
  }

  /**
   * Loads a single-document text of at most {@link PolicyLimits#MAX_POLICY_BYTES}; problems are
   * reported at {@code path}.
   */
  public static Object loadOne(String text, String path, List<Problem> problems) {
    List<Object> docs = loadAll(text, path, problems, Limits.POLICY_TEXT);
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
   * Loads every document of a text of at most {@link PolicyLimits#MAX_FILE_BYTES} ({@link
   * Limits#POLICY}); null documents (empty {@code ---} sections) are dropped.
   */
  public static List<Object> loadAll(String text, String path, List<Problem> problems) {
    return loadAll(text, path, problems, Limits.POLICY);
  }

  /**
   * Loads every document of a text within {@code limits}; null documents are dropped. Null, with
   * one problem at {@code path}, when the text is not YAML or breaks a limit.
   */
  public static List<Object> loadAll(
      String text, String path, List<Problem> problems, Limits limits) {
    int maxBytes = limits.maxBytes();
    long bytes = utf8Length(text, maxBytes);
    if (bytes > maxBytes) {
      problems.add(
          new Problem(
              path, "too large: " + PolicyLimits.moreThan(maxBytes) + "; nothing was parsed"));
      return null;
    }
    try {
      Builder b = new Builder(limits);
      String limit = b.build(new Parse(settings(limits)).parseReader(new ChunkReader(text)));
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

    /**
     * The schema's resolver, made once: {@link CoreSchema#getScalarResolver()} builds a new one
     * (and its regex table) on every call, which was most of the time spent on a large file. It is
     * only read after construction.
     */
    private static final ScalarResolver RESOLVER = SCHEMA.getScalarResolver();

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
    private final Limits limits;
    private final int maxScalar;
    private long nodes;

    /**
     * Characters of scalar text in the document, counting what aliases repeat: a few aliases must
     * not make a small file stand for more text than {@link Limits#maxExpandedChars}.
     */
    private long chars;

    private int aliases;

    Builder(Limits limits) {
      this.limits = limits;
      this.maxScalar = limits.maxScalarChars();
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
            if (++docs > limits.maxDocuments()) {
              return "more than " + limits.maxDocuments() + " YAML documents" + where(mark);
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
            if (open.size() >= limits.maxDepth()) {
              return "nested deeper than " + limits.maxDepth() + " levels" + where(mark);
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
            if (++aliases > limits.maxAliases()) {
              return "more than " + limits.maxAliases() + " aliases" + where(mark);
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
        if (chars > limits.maxExpandedChars()) {
          return "more than "
              + limits.maxExpandedChars()
              + " characters of text in one document (aliases count as what they repeat)"
              + where(mark);
        }
        if (nodes > limits.maxNodes()) {
          return "more than "
              + limits.maxNodes()
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
        tag = RESOLVER.resolve(e.getValue(), e.getImplicit().canOmitTagInPlainScalar());
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
