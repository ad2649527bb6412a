package translator

import (
	"slices"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// How the Translator remembers.
//
// Every input object has a cell: what compiling it produced (its result and
// its problems), the object's revision, and what it read of other objects.
// A cell is compiled again only when its object's revision moved or
// something it read changed; otherwise its result is reused as it is.
// "Translate everything" is the same code with no cells yet.
//
// What other objects read of a cell is dated by two stamps, both numbers of
// the translation run that last changed them:
//
//   - shape: what decides where things go, and so the fleets' layout: an
//     Upstream's acceptance; a group's acceptance, clusters and mirror
//     cluster; a VirtualService's acceptance, domains, origins and the
//     clusters its routes use.
//   - content: anything a reader reads (a group's weights, for example).
//     It moves whenever shape moves.
//
// A weight change thus recompiles one group (content moved, shape did not),
// the VirtualServices that read it, and no layout.

// node is what readers of a cell compare.
type node struct {
	shape, content uint64
	// gone is set when the object leaves the input.
	gone bool
	// dirty is the run in which something this cell read moved: it is
	// compiled again in that run. idx is the cell's place in its table's
	// order, and pending that table's list of indexes marked dirty.
	dirty   uint64
	idx     int32
	pending *[]int32
	// readers are the cells that read this one (see Translator.mark).
	readers []reader
}

// reader is a cell that read a node, and whether it read its content (else
// only its shape).
type reader struct {
	n       *node
	content bool
}

// read is one thing a cell read while compiling: another cell's node (and
// which stamp mattered), or, when the object was missing, its reference.
type read struct {
	n       *node
	content bool   // content stamp (else shape)
	stamp   uint64 // the stamp seen
	missing ident.Ref
}

// object is what every API kind is: a pointer with a namespace and name.
type object interface {
	comparable
	GetNamespace() string
	GetName() string
}

// cell is one object's memory.
type cell[T any, R any] struct {
	node
	key ident.Key
	obj T
	rev uint64
	// dup is set when the input named the key more than once.
	dup   bool
	reads []read
	res   R
	// problems are the compile problems; state and reason sum them up.
	problems []Problem
	state    v1alpha1.State
	reason   string
	// serving is set when the object's version in the input is Rejected
	// and its last accepted version (Input.LastAccepted) was compiled in
	// its place: res is that version's.
	serving *Served
	// acc is Input.LastAccepted's entry for the object (hasAcc: there was
	// one) when its input version last compiled to Rejected; the table
	// lists such cells in consults (see table.acceptedMoved).
	acc    Accepted
	hasAcc bool
	seen   uint64 // the last run the object was in the input
}

// table holds one kind's cells.
type table[T object, R any] struct {
	kind  string
	cells map[ident.Key]*cell[T, R]
	// order is the last run's cells in input order: when the input lists
	// the same keys in the same order (the usual case), cells are found by
	// index, with no lookup by key.
	order []*cell[T, R]
	// last is the input the cells in order were compiled from, when it was
	// a clean (sorted, unique) list: comparing the new input with it, index
	// by index, finds what changed without touching a cell or an object.
	last []Object[T]
	// pending are the indexes of cells marked dirty in this run.
	pending []int32
	// consults are the cells whose input version compiled to Rejected:
	// the only ones whose result depends on Input.LastAccepted.
	consults map[ident.Key]struct{}
}

func newTable[T object, R any](kind string) *table[T, R] {
	return &table[T, R]{kind: kind, cells: map[ident.Key]*cell[T, R]{}}
}

// changedAt returns the indexes to compile again when the input lists the
// same keys in the same order as last time: objects whose revision moved
// (or is unknown), cells marked dirty, and cells whose other inputs
// changed. ok is false when the keys differ.
func (t *table[T, R]) changedAt(tr *Translator, list []Object[T], dirty map[ident.Key]bool) (redo []int32, ok bool) {
	if t.last == nil || len(list) != len(t.last) {
		return nil, false
	}
	var zero T
	for i := range list {
		if list[i] == t.last[i] && list[i].Rev != 0 {
			continue
		}
		if list[i].Obj == zero || ident.KeyOf(list[i].Obj) != t.order[i].key {
			return nil, false
		}
		redo = append(redo, int32(i))
	}
	for _, i := range t.pending {
		if int(i) < len(t.order) && t.order[i].dirty == tr.run {
			redo = append(redo, i)
		}
	}
	for k := range dirty {
		if c := t.cells[k]; c != nil {
			redo = append(redo, c.idx)
		}
	}
	if tr.added {
		// An object appeared: cells that read it as missing must look again.
		for i, c := range t.order {
			if c.readsMissing() && !tr.readsHold(c.reads) {
				redo = append(redo, int32(i))
			}
		}
	}
	slices.Sort(redo)
	return slices.Compact(redo), true
}

// acceptedMoved returns the cells to compile again because their
// Input.LastAccepted entry changed: only cells whose input version is
// Rejected read it, so only they are looked at, not the whole map.
func (t *table[T, R]) acceptedMoved(tr *Translator) map[ident.Key]bool {
	var out map[ident.Key]bool
	for k := range t.consults {
		c := t.cells[k]
		if c == nil {
			continue
		}
		a, has := tr.in.LastAccepted[k.Ref(t.kind)]
		if has != c.hasAcc || (has && !sameAccepted(a, c.acc)) {
			if out == nil {
				out = map[ident.Key]bool{}
			}
			out[k] = true
		}
	}
	return out
}

// compileFunc compiles one object into a cell's result and problems.
type compileFunc[T object, R any] func(c *compiler, cl *cell[T, R]) R

// sync brings the table up to date with the input list: cells whose object
// or reads changed are compiled again (recording their new stamps and
// marking their readers), new objects get cells, and cells of objects no
// longer listed are dropped. It reports whether any shape moved (or a cell
// came or went) and whether any report changed.
//
// dirty names objects whose other inputs (endpoints, a canary's override)
// changed: they are compiled again whatever their revision.
func (t *table[T, R]) sync(tr *Translator, list []Object[T], dirty map[ident.Key]bool, compile compileFunc[T, R], same func(a, b R) (shape, content bool)) (shapeMoved, reportsMoved bool) {
	run := tr.run
	defer func() { t.pending = t.pending[:0] }()
	if redo, ok := t.changedAt(tr, list, dirty); ok {
		for _, i := range redo {
			o := listed[T]{obj: list[i].Obj, rev: list[i].Rev}
			s, r := t.compile(tr, t.order[i], o, false, compile, same)
			shapeMoved, reportsMoved = shapeMoved || s, reportsMoved || r
			t.last[i] = list[i]
		}
		return shapeMoved, reportsMoved
	}
	objs, sorted := sortedObjects(list)
	if len(t.cells) == 0 && len(list) > 0 {
		t.cells = make(map[ident.Key]*cell[T, R], len(list)) // a first run: no rehashing while it grows
	}
	n := len(list)
	if !sorted {
		n = len(objs)
	}
	// order is rebuilt only once a key differs from the last run's.
	order := t.order
	rebuilt := false
	for i := range n {
		var o listed[T]
		if sorted {
			o = listed[T]{obj: list[i].Obj, rev: list[i].Rev}
		} else {
			o = objs[i]
		}
		k := ident.KeyOf(o.obj)
		c := t.cells[k]
		fresh := c == nil
		if fresh {
			c = &cell[T, R]{key: k}
			t.cells[k] = c
			tr.added = true
		}
		c.seen = run
		if !rebuilt && (i >= len(t.order) || t.order[i] != c) {
			order = append(make([]*cell[T, R], 0, n), t.order[:i]...)
			rebuilt = true
		}
		if rebuilt {
			order = append(order, c)
		}
		c.idx, c.pending = int32(i), &t.pending
		if !fresh && o.rev != 0 && c.rev == o.rev && c.dup == o.dup && c.dirty != run && !dirty[k] &&
			(!c.readsMissing() || !tr.added || tr.readsHold(c.reads)) {
			continue
		}
		s, r := t.compile(tr, c, o, fresh, compile, same)
		shapeMoved, reportsMoved = shapeMoved || s, reportsMoved || r
	}
	if !rebuilt && n < len(t.order) {
		order, rebuilt = t.order[:n:n], true
	}
	if rebuilt || len(t.cells) != n {
		for k, c := range t.cells {
			if c.seen != run {
				c.gone, c.shape, c.content = true, run, run
				tr.mark(&c.node, true)
				delete(t.cells, k)
				delete(t.consults, k)
				shapeMoved, reportsMoved = true, true
			}
		}
	}
	t.order = order
	t.last = nil
	if sorted && !tr.forget {
		t.last = slices.Clone(list)
	}
	return shapeMoved, reportsMoved
}

// compile compiles one cell again, records its new stamps and marks its
// readers. It reports whether its shape moved and whether its report did.
func (t *table[T, R]) compile(tr *Translator, c *cell[T, R], o listed[T], fresh bool, compile compileFunc[T, R], same func(a, b R) (shape, content bool)) (shapeMoved, reportMoved bool) {
	run := tr.run
	tr.stats.Compiled++
	old, oldProblems := c.res, c.problems
	c.obj, c.rev, c.dup = o.obj, o.rev, o.dup
	comp := tr.compiler(c.key.Namespace)
	if o.dup {
		comp.p.warn("metadata.name", "defined more than once; the first definition is used")
	}
	res := compile(comp, c)
	oldServing := c.serving
	c.serving = nil
	c.acc, c.hasAcc = Accepted{}, false
	if !comp.p.rejected() {
		delete(t.consults, c.key)
	} else {
		ref := c.key.Ref(t.kind)
		c.acc, c.hasAcc = tr.in.LastAccepted[ref]
		if t.consults == nil {
			t.consults = map[ident.Key]struct{}{}
		}
		t.consults[c.key] = struct{}{}
		if prev, acc, ok := lastAccepted[T](tr, ref, o); ok {
			// Compile the last accepted version in the rejected one's
			// place. Its problems are not reported (the report is the
			// input version's), but what it read is kept with what the
			// input version read, so that either's dependencies trigger
			// a new compilation.
			current := comp.p
			comp.p, comp.refs = problems{}, comp.refs[:0]
			c.obj = prev
			served := compile(comp, c)
			c.obj = o.obj
			if !comp.p.rejected() {
				res, c.serving = served, servedFrom(prev, acc)
			}
			comp.p = current
		}
	}
	c.reads, c.problems = cloneOrNil(comp.reads), cloneOrNil(comp.p.list)
	if !tr.forget {
		tr.listen(&c.node, c.reads)
	}
	if fresh {
		c.res, c.shape, c.content = res, run, run
		shapeMoved = true
	} else {
		shape, content := same(old, res)
		if !shape {
			c.shape, shapeMoved = run, true
		}
		if !content {
			c.content = run
			c.res = res
			tr.mark(&c.node, !shape)
		} // else the old result stays: its pointers are what readers hold
	}
	if fresh || !slices.Equal(oldProblems, c.problems) || !sameServed(oldServing, c.serving) {
		c.state, c.reason = summarize(c.problems)
		c.reason += c.serving.suffix()
		reportMoved = true
	}
	return shapeMoved, reportMoved
}

func refLess(a, b ident.Ref) bool { return a.Compare(b) < 0 }

// cloneOrNil copies what a compiler collected; nothing stays nil.
func cloneOrNil[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// report is the cell's report, as an object of the table's kind.
func (t *table[T, R]) report(c *cell[T, R]) Report {
	return Report{Ref: c.key.Ref(t.kind), State: c.state, Reason: c.reason, Problems: c.problems, Serving: c.serving}
}
