package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	validation "k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// API versions the decoder accepts.
const (
	// APIVersion is serin's own.
	APIVersion = v1alpha1.GroupName + "/" + v1alpha1.Version
	// GlooAPIVersion is Gloo Edge's for Upstream and UpstreamGroup.
	GlooAPIVersion = "gloo.solo.io/v1"
	// GlooGatewayAPIVersion is Gloo Edge's for VirtualService.
	GlooGatewayAPIVersion = "gateway.solo.io/v1"
)

// kinds maps each accepted apiVersion to its kinds. Gloo's versions are
// aliases: their objects decode into serin's types, which use Gloo's field
// names, and anything Gloo has that serin does not is an unknown field.
var kinds = map[string]map[string]func() apiObject{
	APIVersion: {
		v1alpha1.KindUpstream:       func() apiObject { return &v1alpha1.Upstream{} },
		v1alpha1.KindUpstreamGroup:  func() apiObject { return &v1alpha1.UpstreamGroup{} },
		v1alpha1.KindVirtualService: func() apiObject { return &v1alpha1.VirtualService{} },
		v1alpha1.KindGateway:        func() apiObject { return &v1alpha1.Gateway{} },
		v1alpha1.KindCanary:         func() apiObject { return &v1alpha1.Canary{} },
	},
	GlooAPIVersion: {
		v1alpha1.KindUpstream:      func() apiObject { return &v1alpha1.Upstream{} },
		v1alpha1.KindUpstreamGroup: func() apiObject { return &v1alpha1.UpstreamGroup{} },
	},
	GlooGatewayAPIVersion: {
		v1alpha1.KindVirtualService: func() apiObject { return &v1alpha1.VirtualService{} },
	},
}

// apiObject is what every API kind implements.
type apiObject interface {
	metav1.Object
	Default()
	Validate() validation.ErrorList
}

// Object is one decoded API object and the document it came from.
type Object struct {
	store.Entry
	// Kind is the object's kind, e.g. "Upstream".
	Kind string
	// Key is its namespace and name, the namespace defaulted.
	Key ident.Key

	root *yaml.Node // the object's mapping, lines absolute
}

// Line returns the line of a field of the object, e.g.
// "spec.destinations[1].weight", or of its nearest present ancestor.
func (o *Object) Line(fieldPath string) int {
	if o.root == nil {
		return o.Origin.Line
	}
	return lineOf(o.root, fieldPath)
}

// String renders "Kind namespace/name".
func (o *Object) String() string { return o.Kind + " " + o.Key.String() }

// Decode reads the API objects in one file's contents: a YAML stream
// (documents separated by ---), a JSON object or a JSON array, and lists
// (kind: List with items). Empty documents are skipped. Each entry carries
// the file and the line its object starts at, has its defaults applied
// (namespace "default" when none is given), and is typed as serin.dev/v1alpha1
// whatever alias it was written with.
//
// A document that fails to decode is left out and yields an error
// "file:line: message" (a *FileError) located at the bad token or field;
// the other documents still load. A top-level status (Gloo's, or one copied
// from a cluster) is ignored: status is never configuration.
func Decode(filename string, data []byte) ([]store.Entry, []error) {
	objs, errs := DecodeObjects(filename, data)
	entries := make([]store.Entry, len(objs))
	for i, o := range objs {
		entries[i] = o.Entry
	}
	return entries, errs
}

// DecodeObjects is Decode that also keeps each object's document, so that
// callers can locate fields (Object.Line).
func DecodeObjects(filename string, data []byte) ([]*Object, []error) {
	return DefaultLimits().DecodeObjects(filename, data)
}

// DecodeObjects is DecodeObjects within the limits: a document that would
// take the file's documents past MaxExpansionBytes once its aliases are
// followed is refused, before it is expanded, and so are the documents after
// it.
func (l Limits) DecodeObjects(filename string, data []byte) ([]*Object, []error) {
	return decodeFile(filename, data, true, l)
}

func decodeFile(filename string, data []byte, defaults bool, lim Limits) ([]*Object, []error) {
	lim = lim.withDefaults()
	var objs []*Object
	var errs []error
	exp := newExpansion()
	var expanded int64 // JSON bytes of the documents accepted so far
	for i, d := range parseDocuments(data) {
		if d.err != nil {
			errs = append(errs, errorf(filename, d.err.line, "%s", d.err.msg))
			continue
		}
		c := exp.of(d.node)
		if c.nodes > maxNodes {
			errs = append(errs, errorf(filename, d.line, "document %d expands to more than %d nodes after YAML aliases", i+1, maxNodes))
			continue
		}
		if add(expanded, c.bytes) > lim.MaxExpansionBytes {
			errs = append(errs, errorf(filename, d.line, "document %d expands to more than %s after YAML aliases (limit --%s)",
				i+1, byteSize(lim.MaxExpansionBytes), MaxExpansionBytesFlag))
			continue
		}
		expanded += c.bytes
		roots, err := documentObjects(d.node)
		if err != nil {
			errs = append(errs, errorf(filename, err.line, "%s", err.msg))
		}
		for _, root := range roots {
			o, err := decodeObject(filename, root, defaults)
			if err != nil {
				errs = append(errs, err...)
				continue
			}
			objs = append(objs, o)
		}
	}
	return objs, errs
}

// documentObjects lists the nodes that should each be one object: the
// document, the elements of a top-level sequence (a JSON array), or the
// items of a kind: List (whatever its apiVersion, as kubectl writes v1).
func documentObjects(doc *yaml.Node) ([]*yaml.Node, *nodeError) {
	n := deref(doc)
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.SequenceNode {
		return n.Content, nil
	}
	if n.Kind == yaml.MappingNode && scalarField(n, "kind") == "List" {
		items := field(n, "items")
		if items == nil || (items.Kind == yaml.ScalarNode && items.ShortTag() == "!!null") {
			return nil, nil
		}
		if items.Kind != yaml.SequenceNode {
			return nil, &nodeError{line: lineOf(n, "items"), msg: "List: items: expected a list"}
		}
		return items.Content, nil
	}
	return []*yaml.Node{n}, nil
}

func decodeObject(filename string, n *yaml.Node, defaults bool) (*Object, []error) {
	n = deref(n)
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, []error{errorf(filename, n.Line, "expected an object with apiVersion and kind, found %s", describe(n))}
	}
	apiVersion, kind := scalarField(n, "apiVersion"), scalarField(n, "kind")
	switch {
	case apiVersion == "" && kind == "":
		return nil, []error{errorf(filename, n.Line, "object has no apiVersion and kind")}
	case apiVersion == "":
		return nil, []error{errorf(filename, n.Line, "%s has no apiVersion (want %s)", kind, APIVersion)}
	case kind == "":
		return nil, []error{errorf(filename, n.Line, "object of apiVersion %s has no kind", apiVersion)}
	}
	if kind == "List" {
		return nil, []error{errorf(filename, lineOf(n, "items"), "a List must be a whole document, not nested")}
	}
	versionKinds, ok := kinds[apiVersion]
	if !ok {
		return nil, []error{errorf(filename, lineOf(n, "apiVersion"), "unknown apiVersion %q for kind %s (want %s; %s and %s are accepted as aliases)",
			apiVersion, kind, APIVersion, GlooAPIVersion, GlooGatewayAPIVersion)}
	}
	newObj, ok := versionKinds[kind]
	if !ok {
		return nil, []error{errorf(filename, lineOf(n, "kind"), "unknown kind %q for apiVersion %s (known: %s)", kind, apiVersion, knownKinds(apiVersion))}
	}

	// Name the object in messages as soon as its metadata can be read.
	key := ident.Key{Namespace: scalarField(field(n, "metadata"), "namespace"), Name: scalarField(field(n, "metadata"), "name")}
	if key.Namespace == "" {
		key.Namespace = v1alpha1.DefaultNamespace
	}
	who := kind
	if key.Name != "" {
		who += " " + key.String()
	}

	js, spans, err := toJSON(n, map[string]bool{"status": true})
	if err != nil {
		var ne *nodeError
		if errors.As(err, &ne) {
			return nil, []error{errorf(filename, ne.line, "%s: %s", who, fieldMessage(ne.path, ne.msg))}
		}
		return nil, []error{errorf(filename, n.Line, "%s: %v", who, err)}
	}
	obj := newObj()
	strict, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, []error{typeError(filename, n, who, js, spans, err)}
	}
	if len(strict) > 0 {
		errs := make([]error, 0, len(strict))
		for _, se := range strict {
			errs = append(errs, strictError(filename, n, who, se))
		}
		return nil, errs
	}
	if obj.GetName() == "" {
		return nil, []error{errorf(filename, lineOf(n, "metadata.name"), "%s: metadata.name: required", kind)}
	}

	setTypeMeta(obj, kind)
	if obj.GetNamespace() == "" {
		obj.SetNamespace(v1alpha1.DefaultNamespace)
	}
	// A name and namespace are keys everywhere (the store, routes' names,
	// the canary engine's state files): only what Kubernetes would accept
	// gets in, so no name can hold a "/" or a "..".
	for _, msg := range k8svalidation.IsDNS1123Subdomain(obj.GetName()) {
		return nil, []error{errorf(filename, lineOf(n, "metadata.name"), "%s %q: metadata.name: %s", kind, obj.GetName(), msg)}
	}
	for _, msg := range k8svalidation.IsDNS1123Label(obj.GetNamespace()) {
		return nil, []error{errorf(filename, lineOf(n, "metadata.namespace"), "%s %q: metadata.namespace: %s", kind, obj.GetNamespace(), msg)}
	}
	if defaults {
		obj.Default()
	}
	return &Object{
		Entry: store.Entry{Obj: obj, Origin: store.Origin{File: filename, Line: n.Line}},
		Kind:  kind,
		Key:   ident.KeyOf(obj),
		root:  n,
	}, nil
}

// setTypeMeta types the object as serin.dev/v1alpha1 whatever alias it was
// written with.
func setTypeMeta(obj metav1.Object, kind string) {
	tm := metav1.TypeMeta{APIVersion: APIVersion, Kind: kind}
	switch o := obj.(type) {
	case *v1alpha1.Upstream:
		o.TypeMeta = tm
	case *v1alpha1.UpstreamGroup:
		o.TypeMeta = tm
	case *v1alpha1.VirtualService:
		o.TypeMeta = tm
	case *v1alpha1.Gateway:
		o.TypeMeta = tm
	case *v1alpha1.Canary:
		o.TypeMeta = tm
	}
}

// strictError reports an unknown or duplicate field at its line.
func strictError(filename string, root *yaml.Node, who string, err error) error {
	var fe sigsjson.FieldError
	if errors.As(err, &fe) {
		msg := strings.TrimSuffix(err.Error(), " "+strconv.Quote(fe.FieldPath()))
		return errorf(filename, lineOf(root, fe.FieldPath()), "%s: %s: %s", who, fe.FieldPath(), msg)
	}
	return errorf(filename, root.Line, "%s: %v", who, err)
}

// typeError reports a value of the wrong type at its line, with the path of
// the field (indices included) that sigs.k8s.io/json's message lacks. The
// standard library's decoder is run again to learn the offset of the value.
func typeError(filename string, root *yaml.Node, who string, js []byte, spans []span, err error) error {
	var te *json.UnmarshalTypeError
	probe := newLike(root)
	if perr := json.Unmarshal(js, probe); errors.As(perr, &te) {
		if s, ok := at(spans, int(te.Offset)); ok {
			msg := fmt.Sprintf("expected %s, found %s", typeName(te.Type.String()), te.Value)
			if strings.Contains(typeName(te.Type.String()), "string") && te.Value != "string" {
				msg += " (quote the value to make it a string)"
			}
			return errorf(filename, s.line, "%s: %s", who, fieldMessage(s.path, msg))
		}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return errorf(filename, root.Line, "%s: %s", who, msg)
}

// newLike returns an empty object of the kind root describes, for probing.
func newLike(root *yaml.Node) any {
	if vk, ok := kinds[scalarField(root, "apiVersion")]; ok {
		if f, ok := vk[scalarField(root, "kind")]; ok {
			return f()
		}
	}
	return &map[string]any{}
}

func typeName(t string) string {
	switch {
	case strings.HasSuffix(t, "Duration"):
		return "a duration string such as \"1s\""
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "v1alpha1."), strings.HasPrefix(t, "v1."):
		if t == "v1.Time" {
			return "a timestamp"
		}
		return "an object"
	case strings.Contains(t, "int"):
		return "an integer (" + strings.TrimPrefix(t, "*") + ")"
	case strings.Contains(t, "float"):
		return "a number"
	case strings.Contains(t, "bool"):
		return "a boolean"
	case strings.Contains(t, "string"):
		return "a string"
	}
	return t
}

func fieldMessage(path, msg string) string {
	if path == "" || strings.HasPrefix(msg, path+":") {
		return msg
	}
	return path + ": " + msg
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", truncate(n.Value, 40))
	}
	return "something else"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func knownKinds(apiVersion string) string {
	var ks []string
	for k := range kinds[apiVersion] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
