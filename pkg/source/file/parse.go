package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parsedDoc is one YAML document of a file, or the error that stopped it.
// Lines in node are absolute (1-based lines of the file).
type parsedDoc struct {
	node *yaml.Node
	line int // first line of the document
	err  *nodeError
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseDocuments splits a file into documents and parses each one on its
// own, so that a syntax error in one document does not hide the others.
// Empty and comment-only documents are left out.
func parseDocuments(data []byte) []parsedDoc {
	data = bytes.TrimPrefix(data, utf8BOM)
	if isJSON(data) {
		// JSON is YAML's flow style, except that YAML forbids tabs where JSON
		// indentation often has them. Raw tabs cannot occur inside valid JSON
		// strings, so replacing them is safe.
		data = bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
		return parseChunk(data, 0)
	}
	var out []parsedDoc
	for _, c := range splitYAML(data) {
		out = append(out, parseChunk(c.data, c.offset)...)
	}
	return out
}

func isJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(data)
}

type chunk struct {
	data   []byte
	offset int // lines before the chunk
}

// splitYAML cuts a stream at its "---" document markers, as kubectl does.
// Each chunk keeps its marker line so that line numbers stay exact.
func splitYAML(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 0, 0
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		l := bytes.TrimRight(data[pos:next], "\r\n")
		if isDocMarker(l) && pos > start {
			out = append(out, chunk{data: data[start:pos], offset: startLine})
			start, startLine = pos, line
		}
		line++
		pos = next
	}
	if start < len(data) {
		out = append(out, chunk{data: data[start:], offset: startLine})
	}
	return out
}

func isDocMarker(l []byte) bool {
	return bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t')
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseChunk parses the documents of one chunk. The YAML library is not
// supposed to panic, but this runs on user input, so a panic becomes an error.
func parseChunk(data []byte, offset int) (out []parsedDoc) {
	defer func() {
		if r := recover(); r != nil {
			out = append(out, parsedDoc{line: offset + 1, err: &nodeError{line: offset + 1, msg: fmt.Sprintf("YAML parser failed: %v", r)}})
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			line, msg := offset+1, err.Error()
			if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
				l, _ := strconv.Atoi(m[1])
				msg = m[2]
				if isParserError(msg) {
					// yaml.v3 reports parser (not scanner) errors with a
					// 0-based line.
					l++
				}
				// Errors at the end of the input point one past the last line.
				line = min(offset+l, offset+max(1, bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n"))+1))
			}
			return append(out, parsedDoc{line: line, err: &nodeError{line: line, msg: "invalid YAML: " + msg}})
		}
		shiftLines(&n, offset, 0)
		if isEmptyDoc(&n) {
			continue
		}
		out = append(out, parsedDoc{node: &n, line: n.Line})
	}
}

// isParserError tells yaml.v3's parser errors from its scanner errors by
// their message (see parserc.go).
func isParserError(msg string) bool {
	for _, p := range []string{"did not find expected", "found duplicate %", "found incompatible YAML", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// shiftLines makes a chunk's lines absolute. Aliases are not followed: the
// node they point to is shifted where it is defined.
func shiftLines(n *yaml.Node, offset, depth int) {
	if depth > 10*maxDepth {
		return
	}
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset, depth+1)
	}
}

func isEmptyDoc(n *yaml.Node) bool {
	if n.Kind != yaml.DocumentNode {
		return false
	}
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null"
}
