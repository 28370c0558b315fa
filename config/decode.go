package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest configuration Parse and Load accept, in bytes.
const MaxSize = 1 << 20

// decode turns data into a Config without defaults or validation. Before handing the bytes
// to yaml.v3 (with KnownFields) it walks the node tree against Config's shape, so that every
// unknown key, repeated key, value of the wrong kind and unparsable prefix or address is
// reported at once, with its YAML path and line; yaml.v3 alone stops at the first bad prefix
// and names no field. It also returns the line of every path it saw, for Validate's messages.
func decode(data []byte) (*Config, lineIndex, error) {
	if len(data) > MaxSize {
		return nil, nil, ErrTooLarge
	}
	root, err := parseOneDocument(data)
	if err != nil {
		return nil, nil, err
	}
	s := shapeChecker{
		lines:  lineIndex{},
		active: map[*yaml.Node]bool{},
		budget: 10*len(data) + 1000,
	}
	s.walk(root, reflect.TypeFor[Config](), "")
	if len(s.problems) > 0 {
		return nil, nil, &ValidationError{Problems: s.problems}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, nil, yamlError(err)
	}
	return &c, s.lines, nil
}

// parseOneDocument returns the top-level mapping of the only document in data.
func parseOneDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrEmpty
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("%w (the second starts at line %d)", ErrMultipleDocuments, extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, ErrEmpty
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &ValidationError{Problems: []FieldError{{Line: root.Line,
			Msg: "the file must be a mapping of keys (name:, sku:, …), not " + describe(root)}}}
	}
	return root, nil
}

// lineIndex maps a YAML path ("radius.servers[0].secret") to the line where it is written.
type lineIndex map[string]int

// lookup returns the line of path, or of its closest ancestor written in the file, or 0.
func (l lineIndex) lookup(path string) int {
	for path != "" {
		if line, ok := l[path]; ok {
			return line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

var (
	prefixType = reflect.TypeFor[netip.Prefix]()
	addrType   = reflect.TypeFor[netip.Addr]()
)

// shapeChecker walks a YAML node tree against a Go type, collecting problems.
type shapeChecker struct {
	problems []FieldError
	lines    lineIndex
	// active holds the anchors being walked through an alias, so that an anchor that
	// contains an alias to itself stops instead of recursing forever.
	active map[*yaml.Node]bool
	// budget bounds the nodes visited, so that aliases cannot make the walk exponential.
	budget int
}

func (s *shapeChecker) add(path string, line int, format string, args ...any) {
	s.problems = append(s.problems, FieldError{Field: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows an alias. It returns nil, after reporting, for a cycle or an exhausted
// budget; release must be called with the returned node when done.
func (s *shapeChecker) resolve(n *yaml.Node, path string) *yaml.Node {
	s.budget--
	if s.budget == -1 {
		s.add(path, n.Line, "too many nodes or aliases to check")
	}
	if s.budget < 0 {
		return nil
	}
	if n.Kind != yaml.AliasNode {
		return n
	}
	if n.Alias == nil || s.active[n.Alias] {
		s.add(path, n.Line, "the alias refers to itself")
		return nil
	}
	s.active[n.Alias] = true
	return n.Alias
}

func (s *shapeChecker) release(orig, n *yaml.Node) {
	if orig.Kind == yaml.AliasNode {
		delete(s.active, n)
	}
}

func (s *shapeChecker) walk(orig *yaml.Node, t reflect.Type, path string) {
	n := s.resolve(orig, path)
	if n == nil {
		return
	}
	defer s.release(orig, n)
	if _, ok := s.lines[path]; !ok && path != "" {
		s.lines[path] = orig.Line
	}
	if isNull(n) {
		return
	}
	switch t {
	case prefixType:
		s.scalarText(n, path, prefixProblem)
		return
	case addrType:
		s.scalarText(n, path, addrProblem)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		s.walk(n, t.Elem(), path)
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			s.add(path, n.Line, "want a mapping of keys, got %s", describe(n))
			return
		}
		s.mapping(n, t, path, map[string]int{}, false)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			s.add(path, n.Line, "want a list ([a, b], or one \"- item\" a line), got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			s.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			s.add(path, n.Line, "want a single value, got %s", describe(n))
		}
	case reflect.Int:
		var v int
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			s.add(path, n.Line, "want a whole number, got %s", describe(n))
		}
	case reflect.Bool:
		var v bool
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			s.add(path, n.Line, "want true or false, got %s", describe(n))
		}
	default:
		s.add(path, n.Line, "cannot hold a value of type %s", t)
	}
}

func (s *shapeChecker) scalarText(n *yaml.Node, path string, problem func(string) string) {
	if n.Kind != yaml.ScalarNode {
		s.add(path, n.Line, "want a single value, got %s", describe(n))
		return
	}
	if n.Value == "" {
		return // decodes to the zero value, which Validate reports
	}
	if msg := problem(n.Value); msg != "" {
		s.add(path, n.Line, "%s", msg)
	}
}

// mapping checks the keys of n against the fields of struct type t, or, when t is a map,
// the values against its element type (any key is allowed: Validate judges them). seen
// holds the keys written so far (with their lines) to find repeats; merged is true inside a
// "<<" merge, whose keys may repeat (an explicit key overrides a merged one).
func (s *shapeChecker) mapping(n *yaml.Node, t reflect.Type, path string, seen map[string]int, merged bool) {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = yamlFields(t)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			s.merge(v, t, path, seen)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			s.add(path, k.Line, "keys must be plain names, got %s", describe(k))
			continue
		}
		name := k.Value
		ft, ok := fields[name]
		if t.Kind() == reflect.Map {
			ft = t.Elem()
			// canonicalize lowers map keys (log.categories), so Validate may name the
			// lower-case path.
			if lower := path + "." + strings.ToLower(name); s.lines[lower] == 0 {
				s.lines[lower] = k.Line
			}
		} else if !ok {
			s.add(path, k.Line, "unknown key %q%s", name, suggest(name, fields))
			continue
		}
		if !merged {
			if first, dup := seen[name]; dup {
				s.add(path, k.Line, "key %q is repeated (first at line %d)", name, first)
				continue
			}
			seen[name] = k.Line
		}
		child := name
		if path != "" {
			child = path + "." + name
		}
		if _, ok := s.lines[child]; !ok {
			s.lines[child] = k.Line
		}
		s.walk(v, ft, child)
	}
}

// merge checks the value of a "<<" key: a mapping, or a list of mappings, usually aliases.
func (s *shapeChecker) merge(orig *yaml.Node, t reflect.Type, path string, seen map[string]int) {
	n := s.resolve(orig, path)
	if n == nil {
		return
	}
	defer s.release(orig, n)
	switch n.Kind {
	case yaml.MappingNode:
		s.mapping(n, t, path, seen, true)
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if m := s.resolve(item, path); m != nil {
				if m.Kind == yaml.MappingNode {
					s.mapping(m, t, path, seen, true)
				} else {
					s.add(path, item.Line, "a << merge takes mappings, got %s", describe(m))
				}
				s.release(item, m)
			}
		}
	default:
		s.add(path, n.Line, "a << merge takes a mapping, got %s", describe(n))
	}
}

// yamlFields maps the YAML keys of struct type t to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

// suggest returns `, did you mean "x"?` for the known key closest to name, if one is close.
func suggest(name string, fields map[string]reflect.Type) string {
	keys := make([]string, 0, len(fields))
	for f := range fields {
		keys = append(keys, f)
	}
	slices.Sort(keys)
	best, bestDist := "", 3
	for _, f := range keys {
		if d := editDistance(strings.ToLower(name), f, bestDist); d < bestDist {
			best, bestDist = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(", did you mean %q?", best)
}

// editDistance is the Levenshtein distance of a and b, or max when it is at least max or
// the strings are too long to be worth comparing.
func editDistance(a, b string, max int) int {
	if len(a) > 64 || len(b) > 64 {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's value for a message: a mapping, a list, or the quoted scalar.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

// prefixProblem says why v is not an IP prefix, or returns "".
func prefixProblem(v string) string {
	if _, err := netip.ParsePrefix(v); err == nil {
		return ""
	}
	if a, err := netip.ParseAddr(v); err == nil {
		bits := "/24"
		if a.Is6() {
			bits = "/64"
		}
		return fmt.Sprintf("%q is an address, not a prefix: add its length, e.g. %s%s", v, v, bits)
	}
	return fmt.Sprintf("%q is not an IP prefix (want address/length, e.g. 10.1.0.0/24)", v)
}

// addrProblem says why v is not an IP address, or returns "".
func addrProblem(v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return ""
	}
	return fmt.Sprintf("%q is not an IP address (e.g. 10.1.0.4)", v)
}

var (
	yamlLineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlError turns an error of yaml.v3 into a ValidationError with lines and readable
// messages. The shape check catches almost everything first; this is the backstop.
func yamlError(err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	ve := &ValidationError{}
	for _, m := range msgs {
		fe := FieldError{Msg: strings.TrimPrefix(m, "yaml: ")}
		if sub := yamlLineRE.FindStringSubmatch(m); sub != nil {
			fe.Line, _ = strconv.Atoi(sub[1])
			fe.Msg = sub[2]
		}
		if sub := yamlUnknownRE.FindStringSubmatch(fe.Msg); sub != nil {
			fe.Msg = fmt.Sprintf("unknown key %q", sub[1])
		} else if te == nil {
			fe.Msg = "YAML syntax: " + fe.Msg
		}
		ve.Problems = append(ve.Problems, fe)
	}
	return ve
}
