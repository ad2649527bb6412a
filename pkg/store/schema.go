package store

import (
	"github.com/hashicorp/go-memdb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Table names. Object tables are named after their kind.
const (
	tableCanaryState = "canarystate"
	tableEndpoints   = "endpoints"
)

// Kinds lists the object kinds in the order sources and reports use.
var Kinds = []string{
	v1alpha1.KindUpstream,
	v1alpha1.KindUpstreamGroup,
	v1alpha1.KindVirtualService,
	v1alpha1.KindGateway,
	v1alpha1.KindCanary,
}

// record is a row of an object table.
type record struct {
	Kind   string
	Key    ident.Key
	ID     string // recordID(Key), the id index
	Source string
	Origin Origin
	Obj    any
	// Rev is the store generation that wrote this content.
	Rev uint64
}

// recordID is the id index value of a key: namespace, NUL, name. Reads
// in index order then come sorted as ident.Key.Compare sorts ("team/x"
// before "team-a/x"), which "namespace/name" would not ('-' sorts before
// '/'): the translator compares inputs index by index with the last run's
// only when they are in that order.
func recordID(k ident.Key) string { return k.Namespace + "\x00" + k.Name }

func objectTable(kind string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: kind,
		Indexes: map[string]*memdb.IndexSchema{
			"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"source": {Name: "source", Indexer: &memdb.StringFieldIndex{Field: "Source"}},
		},
	}
}

func schema() *memdb.DBSchema {
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, k := range Kinds {
		s.Tables[k] = objectTable(k)
	}
	s.Tables[tableCanaryState] = &memdb.TableSchema{
		Name: tableCanaryState,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		},
	}
	s.Tables[tableEndpoints] = &memdb.TableSchema{
		Name: tableEndpoints,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		},
	}
	return s
}
