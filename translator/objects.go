package translator

import (
	"slices"

	"github.com/serin-dev/serin/pkg/ident"
)

// listed is an input object, its revision, and whether its key repeats.
type listed[T any] struct {
	obj T
	rev uint64
	dup bool
}

// sortedObjects checks that a kind's objects are sorted by namespace/name
// with no nil and no repeated key, as store reads are: then it returns
// sorted=true and copies nothing. Otherwise it returns them sorted, without
// nils, keeping the first of each key (marked dup).
func sortedObjects[T object](list []Object[T]) (out []listed[T], sorted bool) {
	var zero T
	keyOf := func(o Object[T]) (ident.Key, bool) {
		if o.Obj == zero {
			return ident.Key{}, false
		}
		return ident.KeyOf(o.Obj), true
	}
	sorted = true
	var prev ident.Key
	for i, o := range list {
		k, ok := keyOf(o)
		if !ok || (i > 0 && prev.Compare(k) >= 0) {
			sorted = false
			break
		}
		prev = k
	}
	if sorted {
		return nil, true
	}
	type entry struct {
		k ident.Key
		o Object[T]
	}
	es := make([]entry, 0, len(list))
	for _, o := range list {
		if k, ok := keyOf(o); ok {
			es = append(es, entry{k, o})
		}
	}
	slices.SortStableFunc(es, func(a, b entry) int { return a.k.Compare(b.k) })
	out = make([]listed[T], 0, len(es))
	for i, e := range es {
		if i > 0 && es[i-1].k == e.k {
			out[len(out)-1].dup = true
			continue
		}
		out = append(out, listed[T]{obj: e.o.Obj, rev: e.o.Rev})
	}
	return out, false
}

// listedObjects is sortedObjects, always as a list.
func listedObjects[T object](list []Object[T]) []listed[T] {
	out, sorted := sortedObjects(list)
	if !sorted {
		return out
	}
	out = make([]listed[T], len(list))
	for i, o := range list {
		out[i] = listed[T]{obj: o.Obj, rev: o.Rev}
	}
	return out
}
